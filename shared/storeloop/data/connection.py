"""One DynamoDB connection per process, shared by every model and by Powertools Idempotency.

Clients are created once, up front: botocore client creation is not thread-safe, and sharing one client keeps
warm invocations from paying for it again. Retries are few and fast: a conditional failure is an answer, not
something to retry.
"""

from __future__ import annotations

import threading
from typing import Any

from storeloop.settings import Settings, get_settings

RETRIES = {"total_max_attempts": 3, "mode": "standard"}
_lock = threading.Lock()
_client: Any = None


def dynamodb_client() -> Any:
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import boto3  # only Powertools Idempotency needs a boto3 client; pynamodb uses botocore
                from botocore.config import Config

                s = get_settings()
                _client = boto3.client("dynamodb", region_name=s.region, endpoint_url=s.dynamodb_endpoint,
                                       config=Config(retries=RETRIES, connect_timeout=2, read_timeout=5))  # type: ignore[arg-type]
    return _client


def bind_models(settings: Settings | None = None) -> None:
    """Point every model at the configured table and create its connection now, before threads race for it."""
    from storeloop.data.models import Entity

    s = settings or get_settings()
    Entity.bind(s.table_name, s.region, s.dynamodb_endpoint)


def reset() -> None:
    global _client
    _client = None
