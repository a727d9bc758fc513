"""The functions' environment in the local cloud: the template's variables merged for one process, with local
values (fixed test secrets, the test merchant, loopback URLs) where AWS would use Secrets Manager or real hosts."""

from __future__ import annotations

import os
from typing import Any

from local.merchant_keys import local_pay_env
from local.stack import Resolver, Stack

# What the local cloud puts where AWS would use Secrets Manager: fixed test values, never deployed.
LOCAL_SECRETS = {
    "TOKEN_SIGNING_KEY": "local-only-token-signing-key-0123456789abcdef",
    "DATA_KEY": "local-only-data-key-0123456789abcdef0123456789",
    "WECHAT_APP_SECRET": "local-app-secret",
}
ADMIN_OPENID = "o_local_admin_openid_000000001"


def merged_environment(stack: Stack, resolver: Resolver, *, wechat_base: str, api_base: str, dynamodb_endpoint: str,
                       overrides: dict[str, str]) -> dict[str, str]:
    """One process runs every handler, so their environments must agree; local values replace secrets."""
    merged: dict[str, str] = {}
    for fn in stack.functions.values():
        for key, raw in fn.environment.items():
            value = str(resolver.resolve(raw))
            if key in merged and merged[key] != value and key != "SECRET_ARNS":
                raise ValueError(f"functions disagree on {key}: the local cloud runs them in one process")
            merged[key] = value
    merged.update({
        "SECRET_ARNS": "",
        **LOCAL_SECRETS,
        **local_pay_env(),  # the test merchant of local/keys: the local API trusts exactly the Pay fake
        "STAGE": "local",
        "WECHAT_API_BASE": wechat_base,
        "PAY_BASE_URL": wechat_base,
        "PAY_NOTIFY_URL": f"{api_base}/webhooks/wechatpay",
        "ADMIN_OPENIDS": ADMIN_OPENID,
        "DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    })
    merged.update(overrides)
    return merged


def apply(environment: dict[str, str], saved: dict[str, str | None]) -> None:
    """Set `environment` in os.environ, keeping in `saved` what each variable was before the first change."""
    for key, value in environment.items():
        saved.setdefault(key, os.environ.get(key))
        os.environ[key] = value


def restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def reset_settings(shared: Any) -> None:
    """Make the layer (`shared/`) importable and have it read the new environment."""
    import sys

    if str(shared) not in sys.path:
        sys.path.insert(0, str(shared))
    from storeloop import runtime

    runtime.reset_if_changed()
