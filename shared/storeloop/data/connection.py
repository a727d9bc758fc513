"""One DynamoDB connection per process, shared by every model and by Powertools Idempotency.

Clients are created once, up front: botocore client creation is not thread-safe, and sharing one client keeps
warm invocations from paying for it again. Retries are few and fast: a conditional failure is an answer, not
something to retry.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeloop.settings import Settings

RETRIES = {"total_max_attempts": 3, "mode": "standard"}
_lock = threading.Lock()
_clients: dict[str, Any] = {}


def aws_client(service: str, region: str | None = None, endpoint: str | None = None) -> Any:
    """The process's one client for `service` (dynamodb for Idempotency and raw reads, stepfunctions, sqs), made on
    first use under a lock. A botocore client, which is what boto3.client returns, without importing boto3 (and
    s3transfer) at cold start. Region and endpoint come from the settings unless given (the authorizer gives its
    own, to skip the typed settings)."""
    client = _clients.get(service)
    if client is None:
        with _lock:
            client = _clients.get(service)
            if client is None:
                if region is None:
                    from storeloop.settings import get_settings

                    s = get_settings()
                    region, endpoint = s.region, (s.dynamodb_endpoint if service == "dynamodb" else None)
                client = new_client(service, region, endpoint)
                _clients[service] = client
    return client


def new_client(service: str, region: str, endpoint: str | None = None) -> Any:
    """A new botocore client with the project's retries and timeouts (what boto3.client returns, without boto3).
    Settings use it for Secrets Manager before they exist, so it reads no settings."""
    from botocore.config import Config
    from botocore.session import get_session

    return get_session().create_client(
        service, region_name=region, endpoint_url=endpoint,
        # A pool for many threads: the local cloud runs every request of a race in one process (a Lambda
        # environment runs one at a time, so the size changes nothing there).
        config=Config(retries=RETRIES, connect_timeout=2, read_timeout=5,  # type: ignore[arg-type]
                      max_pool_connections=128))


def dynamodb_client() -> Any:
    """The DynamoDB client for Powertools Idempotency and raw reads (pynamodb keeps its own)."""
    return aws_client("dynamodb")


def bind_models(settings: Settings | None = None) -> None:
    """Point every model at the configured table and create its connection now, before threads race for it."""
    from storeloop.data.models import Entity
    from storeloop.settings import get_settings

    s = settings or get_settings()
    Entity.bind(s.table_name, s.region, s.dynamodb_endpoint)


def reset() -> None:
    _clients.clear()
