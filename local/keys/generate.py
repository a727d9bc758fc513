"""Generates the local cloud's WeChat Pay test keys (merchant and platform RSA 2048 pairs) and test_pay.json.

Run once: `python local/keys/generate.py`. The outputs are committed so every machine and test shares them;
`--force` replaces them (then restart the local cloud, whose API trusts exactly these keys).
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEYS_DIR = Path(__file__).resolve().parent
OUTPUTS = (
    "merchant_private_key.pem",
    "merchant_public_key.pem",
    "platform_private_key.pem",
    "platform_public_key.pem",
    "test_pay.json",
)


def _write_pair(stem: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # PKCS#8 ("BEGIN PRIVATE KEY"): the form WeChat hands merchants (apiclient_key.pem) and the form
    # wechatpayv3 expects; it would wrap a PKCS#1 key in the wrong PEM armour.
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (KEYS_DIR / f"{stem}_private_key.pem").write_bytes(private_pem)
    (KEYS_DIR / f"{stem}_public_key.pem").write_bytes(public_pem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="replace existing keys")
    args = parser.parse_args(argv)
    existing = [name for name in OUTPUTS if (KEYS_DIR / name).exists()]
    if existing and not args.force:
        print(f"keys already exist ({', '.join(existing)}); pass --force to replace them", file=sys.stderr)
        return 1
    _write_pair("merchant")
    _write_pair("platform")
    alphabet = string.ascii_letters + string.digits
    config = {
        "mchid": "1900000001",
        "appid": "wxd0c0ffee00000001",
        # Shaped like the real values: a merchant certificate serial is 40 hex digits, a platform
        # public key id is PUB_KEY_ID_ plus digits.
        "merchant_serial_no": secrets.token_hex(20).upper(),
        "platform_serial": "PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(28)),
        # AES-256-GCM needs exactly 32 bytes; WeChat's APIv3 key is 32 ASCII characters.
        "apiv3_key": "".join(secrets.choice(alphabet) for _ in range(32)),
    }
    (KEYS_DIR / "test_pay.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {', '.join(OUTPUTS)} to {KEYS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
