"""The authorizer's four settings, read without pydantic: it runs before every token's first request, so its
cold start imports only what one HMAC and one GetItem need (docs/capacity.md, "Cold init of the hot path").

The same environment and secrets as `settings.Settings` (the rules for these fields are the same: a signing key of
at least 32 characters, a table name), kept and re-read the same way (`settings_source.Kept`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from storeloop.settings_source import Kept, SettingsError, env_values, read_secrets

# Settings (settings.py) takes these three from here, so the two readers cannot disagree.
DEFAULT_REGION = "ap-east-1"
MIN_KEY_CHARS = 32
DEFAULT_TTL_SECONDS = 300


@dataclass(frozen=True)
class AuthSettings:
    table_name: str
    region: str
    dynamodb_endpoint: str | None
    token_signing_key: str
    secrets_ttl_seconds: int


def load_auth_settings(environ: dict[str, str] | None = None) -> AuthSettings:
    env = dict(os.environ if environ is None else environ)
    names = ("table_name", "region", "dynamodb_endpoint", "token_signing_key", "secrets_ttl_seconds")
    values: dict[str, object] = dict(env_values(env, names))
    region = str(values.get("region") or DEFAULT_REGION)
    values.update(read_secrets(env, region, ("token_signing_key",)))
    key, table = str(values.get("token_signing_key") or ""), str(values.get("table_name") or "")
    try:
        ttl = int(str(values.get("secrets_ttl_seconds") or DEFAULT_TTL_SECONDS))
    except ValueError:
        ttl = 0
    bad = [n.upper() for n, wrong in (("table_name", not table), ("token_signing_key", len(key) < MIN_KEY_CHARS),
                                      ("secrets_ttl_seconds", ttl < 1)) if wrong]
    if bad:
        raise SettingsError(f"bad or missing settings: {', '.join(bad)}")
    return AuthSettings(table_name=table, region=region, dynamodb_endpoint=str(values.get("dynamodb_endpoint") or "")
                        or None, token_signing_key=key, secrets_ttl_seconds=ttl)


_kept: Kept[AuthSettings] = Kept(load_auth_settings, lambda s: s.secrets_ttl_seconds)


def get_auth_settings() -> AuthSettings:
    return _kept.get()


def reset() -> None:
    _kept.reset()
