"""List pagination with an opaque cursor (DynamoDB's LastEvaluatedKey, base64url JSON)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from storeloop.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 2048

# A list route's parameters: `limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None`.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page: 1-{MAX_LIMIT}")]
CursorQuery = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS,
                                          description="the `next` of the previous page, as given (opaque)")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, json.JSONDecodeError):
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor", "issue": "invalid"}]) from None
    if not isinstance(value, dict):
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor", "issue": "invalid"}])
    return value
