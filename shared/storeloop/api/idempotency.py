"""The one `Idempotency-Key` set-up: Powertools Idempotency on DynamoDB, keys scoped to the caller and operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storeloop.api.app import JsonBody
from storeloop.errors import ValidationFailed
from storeloop.runtime import lambda_context

# Built on first use: Powertools Idempotency (and boto3 with it) loads only in functions that take a key. Made
# again with a new DynamoDB client: `storeloop.runtime.reset` (a new local stack, a SnapStart restore) drops the
# clients, and with them the settings this was made from.
_persistence: Any = None
_config: Any = None
_client: Any = None


def _setup() -> tuple[Any, Any]:
    global _persistence, _config, _client
    from storeloop.data.connection import dynamodb_client

    client = dynamodb_client()
    if _persistence is None or client is not _client:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

        from storeloop.settings import get_settings

        _config = IdempotencyConfig(
            event_key_jmespath="[operation, caller, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=24 * 3600,
        )
        _persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name,
                                                boto3_client=client)
        _client = client
    return _persistence, _config


def idempotent_request(operation: str, caller: str, key: str | None, body: Any,
                       run: Callable[[], tuple[JsonBody, int]]) -> tuple[JsonBody, int]:
    """Run `run` once per (operation, caller, key); a repeat with the same body gets the first answer.

    Without a key the request simply runs. `run` returns (json body, status); errors are not remembered,
    so a request that failed with a 4xx can be retried with the same key.
    """
    if not key:
        return run()
    if len(key) > 128 or not (key.isascii() and key.isprintable()):
        raise ValidationFailed("Idempotency-Key is not valid",
                               details=[{"field": "Idempotency-Key", "issue": "max 128 printable ASCII characters"}])

    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    persistence, config = _setup()
    context = lambda_context.value
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def once(request: dict) -> dict:
        payload, status = run()
        return {"status": status, "body": payload}

    result = once(request={"operation": operation, "caller": caller, "key": key, "body": body})
    return result["body"], int(result["status"])
