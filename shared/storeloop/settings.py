"""The one typed settings object, read from the environment (and Secrets Manager in AWS) once per cold start."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError, field_validator


class SettingsError(RuntimeError):
    """A required setting is missing or malformed: fail at cold start, not on the first request."""


class Settings(BaseModel):
    model_config = {"frozen": True}

    stage: str = "local"
    region: str = "ap-east-1"
    table_name: str
    idempotency_table_name: str
    dynamodb_endpoint: str | None = None

    # secrets: Secrets Manager in AWS (the JSON secrets SECRET_ARNS names), plain env locally
    token_signing_key: str = Field(min_length=32)
    data_key: str = Field(min_length=32, description="secret the AES-256-GCM key for fields at rest derives from")
    wechat_app_secret: str = ""

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
    pay_apiv3_key: str = ""

    @field_validator("admin_openids", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return frozenset(x.strip() for x in v.split(",") if x.strip())
        return v

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
)


def _from_env(environ: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        raw = environ.get(name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    if "region" not in values and environ.get("AWS_REGION"):
        values["region"] = environ["AWS_REGION"]
    return values


def _from_secrets_manager(arn: str) -> dict[str, object]:
    # Imported here: only deployed functions read Secrets Manager; Powertools caches the value for 5 minutes.
    from aws_lambda_powertools.utilities.parameters import get_secret

    secret = get_secret(arn, transform="json", max_age=300)
    return {k: v for k, v in dict(secret).items() if k in _SECRET_FIELDS}  # type: ignore[arg-type]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    values = _from_env(env)
    for arn in filter(None, (a.strip() for a in env.get("SECRET_ARNS", "").split(","))):
        values.update(_from_secrets_manager(arn))
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]).upper() for e in exc.errors())
        raise SettingsError(f"bad or missing settings: {fields}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (the local cloud and tests change the environment between stacks)."""
    get_settings.cache_clear()
