"""runtime.reset_if_changed compares the environment with the settings the data layer was bound with."""

from __future__ import annotations

from storeloop import runtime
from storeloop.data import connection
from storeloop.settings import get_settings, reset_settings


def test_a_settings_reread_does_not_hide_a_new_engine(monkeypatch):
    for key, value in {"SECRET_ARNS": "", "TABLE_NAME": "main", "IDEMPOTENCY_TABLE_NAME": "idem",
                       "TOKEN_SIGNING_KEY": "k" * 40, "DATA_KEY": "d" * 40,
                       "DYNAMODB_ENDPOINT": "http://127.0.0.1:1111"}.items():
        monkeypatch.setenv(key, value)
    bound: list[str | None] = []
    monkeypatch.setattr(connection, "bind_models", lambda s=None: bound.append((s or get_settings()).dynamodb_endpoint))
    runtime.reset()
    try:
        runtime.bootstrap()
        monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:2222")  # the next stack's engine
        reset_settings()
        assert get_settings().dynamodb_endpoint == "http://127.0.0.1:2222"  # cached anew: equal to the environment
        runtime.reset_if_changed()
        runtime.bootstrap()
        assert bound == ["http://127.0.0.1:1111", "http://127.0.0.1:2222"]
        runtime.reset_if_changed()  # the same again: the warm binding stays
        runtime.bootstrap()
        assert len(bound) == 2
    finally:
        runtime.reset()
