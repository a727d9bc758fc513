"""Cold-start wiring: validate settings and bind the data layer once per process; reset it between local stacks."""

from __future__ import annotations

_ready = False


def bootstrap() -> None:
    """Fail at cold start if a setting is missing, and create the DynamoDB connection before any request."""
    global _ready
    if _ready:
        return
    from storeloop.data.connection import bind_models
    from storeloop.settings import get_settings

    bind_models(get_settings())
    _ready = True


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
