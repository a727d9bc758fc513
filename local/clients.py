"""The local cloud's region, and its own AWS clients, made once per process and endpoint."""

from __future__ import annotations

from typing import Any

REGION = "ap-east-1"

_clients: dict[tuple[str, str | None], Any] = {}
_ENGINE_SERVICES = ("dynamodb", "dynamodbstreams")


def client(service: str, endpoint: str | None = None) -> Any:
    """A client of the local cloud itself (botocore clients are thread-safe): DynamoDB and its streams go to the
    engine (`endpoint`); the rest to moto."""
    key = (service, endpoint if service in _ENGINE_SERVICES else None)
    if key not in _clients:
        import boto3

        _clients[key] = boto3.client(service, region_name=REGION, endpoint_url=key[1])
    return _clients[key]
