"""The test merchant of local/keys (never deployed), read in one place: its ids and keys, as the local API's env
vars and as a `PayConfig`, for the local cloud, the Pay fake, the tests and the bench."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storeloop.wechat.pay import PayConfig

KEYS_DIR = Path(__file__).resolve().parent / "keys"


@dataclass(frozen=True)
class Merchant:
    """Both sides of the test merchant: what the merchant holds and what WeChat Pay holds (local/keys/README.md)."""

    keys_dir: Path
    mchid: str
    appid: str
    merchant_serial_no: str
    platform_serial: str
    apiv3_key: str
    merchant_private_key_pem: str
    merchant_public_key_pem: str
    platform_private_key_pem: str
    platform_public_key_pem: str

    def pay_env(self) -> dict[str, str]:
        """Env vars naming the merchant: the local API then trusts exactly the Pay fake's platform key.

        In AWS these come from the template (PAY_MCHID, PAY_BASE_URL, PAY_NOTIFY_URL) and the WeChatSecret (keys
        and serials); locally the local cloud sets PAY_BASE_URL and PAY_NOTIFY_URL itself, and this adds the rest.
        """
        return {
            "PAY_MCHID": self.mchid,
            "WECHAT_APPID": self.appid,
            "PAY_MERCHANT_SERIAL_NO": self.merchant_serial_no,
            "PAY_MERCHANT_PRIVATE_KEY": self.merchant_private_key_pem,
            "PAY_PLATFORM_SERIAL": self.platform_serial,
            "PAY_PLATFORM_PUBLIC_KEY": self.platform_public_key_pem,
            "PAY_APIV3_KEY": self.apiv3_key,
        }

    def pay_config(self, *, base_url: str, notify_url: str) -> PayConfig:
        """The merchant's side as the API's WeChat Pay client takes it."""
        from storeloop.wechat.pay import PayConfig

        return PayConfig(
            mchid=self.mchid,
            appid=self.appid,
            merchant_serial_no=self.merchant_serial_no,
            merchant_private_key_pem=self.merchant_private_key_pem,
            apiv3_key=self.apiv3_key,
            platform_public_key_pem=self.platform_public_key_pem,
            platform_serial=self.platform_serial,
            base_url=base_url,
            notify_url=notify_url,
        )


@lru_cache(maxsize=4)
def _read(keys_dir: Path) -> Merchant:
    ids = json.loads((keys_dir / "test_pay.json").read_text(encoding="utf-8"))

    def pem(name: str) -> str:
        return (keys_dir / f"{name}.pem").read_text(encoding="ascii")

    return Merchant(
        keys_dir=keys_dir,
        mchid=ids["mchid"],
        appid=ids["appid"],
        merchant_serial_no=ids["merchant_serial_no"],
        platform_serial=ids["platform_serial"],
        apiv3_key=ids["apiv3_key"],
        merchant_private_key_pem=pem("merchant_private_key"),
        merchant_public_key_pem=pem("merchant_public_key"),
        platform_private_key_pem=pem("platform_private_key"),
        platform_public_key_pem=pem("platform_public_key"),
    )


def merchant(keys_dir: str | Path = KEYS_DIR) -> Merchant:
    """The merchant whose test keys live in `keys_dir` (local/keys by default), read once per process."""
    return _read(Path(keys_dir).resolve())


def local_pay_env(keys_dir: str | Path = KEYS_DIR) -> dict[str, str]:
    """`merchant(keys_dir).pay_env()`: the env vars the local cloud (or a test's overrides) sets for Pay."""
    return merchant(keys_dir).pay_env()


def load_test_pay_config(keys_dir: str | Path, *, base_url: str, notify_url: str) -> PayConfig:
    """A PayConfig for the merchant whose test keys live in `keys_dir` (local cloud and tests only)."""
    return merchant(keys_dir).pay_config(base_url=base_url, notify_url=notify_url)
