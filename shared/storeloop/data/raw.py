"""DynamoDB-JSON items for the code that reads many item kinds at once (stream images, exports, analytics)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from storeloop.data.connection import dynamodb_client
from storeloop.settings import get_settings

_deserializer = TypeDeserializer()
_serializer = TypeSerializer()


def table_name() -> str:
    return get_settings().table_name


def plain(value: Any) -> Any:
    """Deserialized values as JSON-friendly Python: whole numbers as int, sets as sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, Binary):
        return bytes(value.value).hex()
    if isinstance(value, bytes):
        return value.hex()
    return value


def item_from_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB-JSON item (also a stream image) as plain Python values."""
    return {k: plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def value_to_raw(value: Any) -> dict[str, Any]:
    return _serializer.serialize(value)


def item_to_raw(value: dict[str, Any]) -> dict[str, Any]:
    return {k: value_to_raw(v) for k, v in value.items() if v is not None}


def query_items(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, all pages, as plain values."""
    client = dynamodb_client()
    start: dict[str, Any] | None = None
    while True:
        page = client.query(TableName=table_name(), **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        for raw in page.get("Items", []):
            yield item_from_raw(raw)
        start = page.get("LastEvaluatedKey")
        if not start:
            return
