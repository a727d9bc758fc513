"""The one `Idempotency-Key` set-up: Powertools Idempotency on DynamoDB, keys scoped to the caller and operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from storeloop.errors import ValidationFailed

_config = IdempotencyConfig(
    event_key_jmespath="[operation, caller, key]",
    payload_validation_jmespath="body",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=24 * 3600,
)
_persistence: DynamoDBPersistenceLayer | None = None


def _store() -> DynamoDBPersistenceLayer:
    global _persistence
    if _persistence is None:
        from storeloop.data.connection import dynamodb_client
        from storeloop.settings import get_settings

        _persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name,
                                                boto3_client=dynamodb_client())
    return _persistence


def reset() -> None:
    global _persistence
    _persistence = None


def register_context(context: Any) -> None:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        _config.register_lambda_context(context)


def idempotent_request(operation: str, caller: str, key: str | None, body: Any,
                       run: Callable[[], tuple[dict, int]]) -> tuple[dict, int]:
    """Run `run` once per (operation, caller, key); a repeat with the same body gets the first answer.

    Without a key the request simply runs. `run` returns (json body, status); errors are not remembered,
    so a request that failed with a 4xx can be retried with the same key.
    """
    if not key:
        return run()
    if len(key) > 128 or not key.isprintable():
        raise ValidationFailed("Idempotency-Key is not valid",
                               details=[{"field": "Idempotency-Key", "issue": "max 128 printable characters"}])

    @idempotent_function(data_keyword_argument="request", persistence_store=_store(), config=_config)
    def once(request: dict) -> dict:
        payload, status = run()
        return {"status": status, "body": payload}

    result = once(request={"operation": operation, "caller": caller, "key": key, "body": body})
    return result["body"], int(result["status"])
