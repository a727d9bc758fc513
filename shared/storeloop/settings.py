"""The one typed settings object, read from the environment, and in AWS from Secrets Manager too.

Settings are read at cold start and kept; where secrets are read (SECRET_ARNS), they are read again after
SECRETS_TTL_SECONDS, so a secret filled or rotated after a deploy reaches warm containers without recycling them.
The Secrets Manager client is the project's own botocore client (no boto3 at init).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

_SERIAL = re.compile(r"PUB_KEY_ID_[0-9A-Za-z_]{1,64}|[0-9A-Fa-f]{8,64}")


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

    secrets_ttl_seconds: int = Field(default=300, ge=1)  # how long read secrets are kept before a new read
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


def _from_env(environ: dict[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        raw = environ.get(name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    if "region" not in values and environ.get("AWS_REGION"):
        values["region"] = environ["AWS_REGION"]
    return values


def _secrets_client(region: str) -> Any:
    global _sm_client
    if _sm_client is None:
        from storeloop.data.connection import new_client

        # AWS_ENDPOINT_URL_SECRETS_MANAGER, if set, points botocore elsewhere (the tests' loopback fake).
        _sm_client = new_client("secretsmanager", region)
    return _sm_client


def _from_secrets_manager(arn: str, region: str) -> dict[str, object]:
    name = arn.rsplit(":", 1)[-1]
    try:
        raw = _secrets_client(region).get_secret_value(SecretId=arn)["SecretString"]
        secret = json.loads(raw)
    except (KeyError, ValueError):
        raise SettingsError(f"secret {name} is not a JSON object") from None
    if not isinstance(secret, dict):
        raise SettingsError(f"secret {name} is not a JSON object")
    # An empty value is a key not filled yet (the first deploy leaves them empty): the default stands.
    return {k: v for k, v in secret.items() if k in _SECRET_FIELDS and v not in (None, "")}


def secret_arns(environ: dict[str, str]) -> list[str]:
    return [a for a in (a.strip() for a in environ.get("SECRET_ARNS", "").split(",")) if a]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    values = _from_env(env)
    region = str(values.get("region") or Settings.model_fields["region"].default)
    for arn in secret_arns(env):
        values.update(_from_secrets_manager(arn, region))
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]).upper() for e in exc.errors())
        raise SettingsError(f"bad or missing settings: {fields}") from None


logger = logging.getLogger(__name__)
RETRY_AFTER_FAILURE_SECONDS = 30.0
_lock = threading.Lock()
_cached: tuple[Settings, float] | None = None  # the settings and the monotonic time they are kept until
_sm_client: Any = None
_clock = time.monotonic


def get_settings() -> Settings:
    """The process's settings. Without secrets to read they are kept for the process's life; with SECRET_ARNS,
    for secrets_ttl_seconds, then read again (an unchanged read keeps the same object, so what is cached per
    settings object stays). A failed re-read keeps the last settings and tries again 30 s later; a failed first
    read raises (the cold start fails, naming what is missing)."""
    global _cached
    cached = _cached
    if cached is not None and _clock() < cached[1]:
        return cached[0]
    with _lock:
        cached = _cached
        if cached is not None and _clock() < cached[1]:
            return cached[0]
        try:
            fresh = load_settings()
        except Exception as exc:
            if cached is None:
                raise
            logger.warning("settings re-read failed, keeping the last ones: %s", type(exc).__name__)
            _cached = (cached[0], _clock() + RETRY_AFTER_FAILURE_SECONDS)
            return cached[0]
        if cached is not None and fresh == cached[0]:
            fresh = cached[0]
        keep = fresh.secrets_ttl_seconds if secret_arns(dict(os.environ)) else float("inf")
        _cached = (fresh, _clock() + keep)
        return fresh


def reset_settings() -> None:
    """Forget the cached settings (the local cloud and tests change the environment between stacks)."""
    global _cached, _sm_client
    with _lock:
        _cached = None
        _sm_client = None
