"""Cold-start wiring: validate settings and bind the data layer once per process; reset it between local stacks."""

from __future__ import annotations

from contextvars import ContextVar

_ready = False

# The API Gateway stage serving the current request (rest api id, stage name), set by the HTTP entry point: what
# a revocation flushes the authorizer cache of (services/access.py), without the template naming the API in the
# functions (that would be a circular dependency: the API's definition names the functions).
request_stage: ContextVar[tuple[str, str] | None] = ContextVar("request_stage", default=None)


def bootstrap() -> None:
    """Fail at cold start if a setting is missing, and create the DynamoDB connection before any request."""
    global _ready
    if _ready:
        return
    from storeloop.data.connection import bind_models
    from storeloop.settings import get_settings

    bind_models(get_settings())
    _ready = True
    from storeloop import snapstart

    snapstart.register()  # SnapStart: reseed and reconnect after a restore (no-op without it)


def reset() -> None:
    """Forget settings, clients and bindings (the local cloud calls this when it starts a new stack)."""
    global _ready
    from storeloop.api import idempotency
    from storeloop.data import connection
    from storeloop.settings import reset_settings

    reset_settings()
    connection.reset()
    idempotency.reset()
    _ready = False


def reset_if_changed() -> None:
    """Reset only if the environment now gives other settings (same names: keep the warm clients)."""
    from storeloop.settings import get_settings, load_settings

    if not _ready or load_settings() != get_settings():
        reset()
