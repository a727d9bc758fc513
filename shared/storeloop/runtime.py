"""Cold-start wiring: validate settings and bind the data layer once per process; reset it between local stacks.

It also holds what the entry points know of the current invocation (its Lambda context, its API stage), so the
code beneath them can read it without importing the entry points: nothing here imports `storeloop.api`.
"""

from __future__ import annotations

import random
from contextvars import ContextVar
from typing import Any

_ready = False
_bound: Any = None  # the settings the data layer was bound with (what reset_if_changed compares against)

# The API Gateway stage serving the current request (rest api id, stage name), set by the HTTP entry point: what
# a revocation flushes the authorizer cache of (services/access.py), without the template naming the API in the
# functions (that would be a circular dependency: the API's definition names the functions).
request_stage: ContextVar[tuple[str, str] | None] = ContextVar("request_stage", default=None)


class _LambdaContext:
    """The Lambda context of the current invocation, for Powertools Idempotency's in-progress expiry."""

    value: Any = None

    def set(self, context: Any) -> None:
        self.value = context


lambda_context = _LambdaContext()


def bootstrap() -> None:
    """Fail at cold start if a setting is missing, and create the DynamoDB connection before any request."""
    global _ready, _bound
    if _ready:
        return
    from storeloop.data.connection import bind_models
    from storeloop.settings import get_settings

    _bound = get_settings()
    bind_models(_bound)
    _ready = True
    from storeloop import snapstart

    snapstart.register(after_restore)  # SnapStart: reseed and reconnect after a restore (no-op without it)


def after_restore() -> None:
    """SnapStart's after-restore hook (storeloop/snapstart.py says why): reseed, then settings and clients anew."""
    random.seed()  # from os.urandom
    reset()
    bootstrap()


def reset() -> None:
    """Forget settings, clients and bindings (the local cloud calls this when it starts a new stack). Powertools
    Idempotency's persistence is made again with the next DynamoDB client (storeloop/api/idempotency.py)."""
    global _ready
    from storeloop.data import connection
    from storeloop.settings import reset_settings

    reset_settings()
    connection.reset()
    _ready = False


def reset_if_changed() -> None:
    """Reset only if the environment now gives other settings than the data layer was bound with (same ones: keep
    the warm clients). Compared with the bound settings, not the cached ones: a test that re-reads the settings
    (reset_settings) must not make a stack keep clients bound to the previous stack's engine."""
    from storeloop.settings import load_settings

    if not _ready or load_settings() != _bound:
        reset()
