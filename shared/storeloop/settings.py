"""The one typed settings object, read from the environment, and in AWS from Secrets Manager too.

Settings are read at cold start and kept; where secrets are read (SECRET_ARNS), they are read again after
SECRETS_TTL_SECONDS, so a secret filled or rotated after a deploy reaches warm containers without recycling them.
Where they come from (environment, Secrets Manager, the re-read cache) is `settings_source.py`, pydantic-free.
"""

from __future__ import annotations

import json
import os
import re
import time

from pydantic import BaseModel, Field, ValidationError, field_validator

from storeloop import auth_settings
from storeloop.settings_source import Kept, SettingsError, env_values, read_secrets

__all__ = ["Settings", "SettingsError", "get_settings", "load_settings", "reset_settings"]

_SERIAL = re.compile(r"PUB_KEY_ID_[0-9A-Za-z_]{1,64}|[0-9A-Fa-f]{8,64}")


class Settings(BaseModel):
    model_config = {"frozen": True}

    stage: str = "local"
    region: str = auth_settings.DEFAULT_REGION
    table_name: str
    idempotency_table_name: str
    dynamodb_endpoint: str | None = None

    # secrets: Secrets Manager in AWS (the JSON secrets SECRET_ARNS names), plain env locally
    token_signing_key: str = Field(min_length=auth_settings.MIN_KEY_CHARS)
    data_key: str = Field(min_length=32, description="secret the AES-256-GCM key for fields at rest derives from")
    wechat_app_secret: str = ""

    # how long read secrets are kept before a new read
    secrets_ttl_seconds: int = Field(default=auth_settings.DEFAULT_TTL_SECONDS, ge=1)
    token_ttl_seconds: int = 7200
    qr_ttl_seconds: int = 60
    member_code_ttl_seconds: int = 120

    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_appid: str = "wxd0c0ffee00000001"
    admin_openids: frozenset[str] = frozenset()

    order_payment_timeout_seconds: int = 900
    points_per_yuan: int = 1
    points_expiry_days: int = Field(default=365, ge=1, le=3650)  # a balance expires this long after the last purchase
    tier_thresholds: dict[str, int] = {"bronze": 0, "silver": 100_000, "gold": 500_000}

    # resources wired by template.yaml; empty when a function does not use them
    order_state_machine_arn: str = ""
    campaign_state_machine_arn: str = ""
    message_queue_url: str = ""
    # outbound webhooks (issue 15): the FIFO delivery queue, its DLQ, and the retry schedule
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)  # = the queue's maxReceiveCount
    webhook_retry_base_seconds: int = Field(default=30, ge=0, le=900)
    # (issue 10) the group buy flow; how long one of a group's `hours` lasts (3600; tests shorten it)
    group_buy_state_machine_arn: str = ""
    group_buy_hour_seconds: int = Field(default=3600, ge=1, le=3600)

    # pre-warming the claim path for a campaign's peak (services/warmup.py, docs/capacity.md)
    campaign_warm_state_machine_arn: str = ""
    warm_targets: str = ""  # JSON {"claim": {"function": name, "alias": "live", "warm_ms": 25, "share": 1.0}, ...}
    warm_lead_seconds: int = Field(default=300, ge=0, le=3600)  # provisioned this long before starts_at
    warm_rush_seconds: int = Field(default=1800, ge=60, le=86400)  # released this long after starts_at (or at the end)

    # WeChat Pay
    pay_mchid: str = ""
    pay_base_url: str = "https://api.mch.weixin.qq.com"
    pay_notify_url: str = ""
    pay_merchant_serial_no: str = ""
    pay_merchant_private_key: str = ""
    pay_platform_serial: str = ""
    pay_platform_public_key: str = ""
    # More trusted platform keys (API.md v2, key rotation): a JSON object {"<serial>": "<PEM public key>"}, serials
    # PUB_KEY_ID_... or platform certificate serials (hex). A notification signed by any of them is accepted.
    pay_platform_keys: dict[str, str] = {}
    pay_apiv3_key: str = ""

    @field_validator("admin_openids", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return frozenset(x.strip() for x in v.split(",") if x.strip())
        return v

    @field_validator("pay_platform_keys", mode="before")
    @classmethod
    def _platform_keys(cls, v: object) -> object:
        value = json.loads(v) if isinstance(v, str) else v
        if not isinstance(value, dict):
            raise ValueError('a JSON object {"<serial>": "<PEM public key>"}')
        for serial, pem in value.items():
            if not _SERIAL.fullmatch(str(serial)) or "BEGIN PUBLIC KEY" not in str(pem):
                raise ValueError(f"platform key {serial!r}: a serial (PUB_KEY_ID_... or hex) and a PEM public key")
        return value

    @field_validator("tier_thresholds", mode="before")
    @classmethod
    def _json(cls, v: object) -> object:
        return json.loads(v) if isinstance(v, str) else v


_SECRET_FIELDS = (
    "token_signing_key",
    "data_key",
    "wechat_app_secret",
    "pay_merchant_private_key",
    "pay_platform_public_key",
    "pay_apiv3_key",
    "pay_merchant_serial_no",
    "pay_platform_serial",
    "pay_platform_keys",
)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = dict(env_values(env, tuple(Settings.model_fields)))
    region = str(values.get("region") or Settings.model_fields["region"].default)
    values.update(read_secrets(env, region, _SECRET_FIELDS))
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]).upper() for e in exc.errors())
        raise SettingsError(f"bad or missing settings: {fields}") from None


_clock = time.monotonic
_kept: Kept[Settings] = Kept(load_settings, lambda s: s.secrets_ttl_seconds, clock=lambda: _clock())


def get_settings() -> Settings:
    """The process's settings: read at the first call and kept (`settings_source.Kept`: with SECRET_ARNS, read
    again after secrets_ttl_seconds; a failed re-read keeps the last ones; a failed first read raises)."""
    return _kept.get()


def reset_settings() -> None:
    """Forget the cached settings (the local cloud and tests change the environment between stacks)."""
    _kept.reset()
    auth_settings.reset()
