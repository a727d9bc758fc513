"""List pagination with an opaque cursor (DynamoDB's LastEvaluatedKey, base64url JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from storeloop.data import cursors

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = cursors.MAX_CURSOR_CHARS

# A list route's parameters: `limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None`.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page: 1-{MAX_LIMIT}")]
CursorQuery = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS,
                                          description="the `next` of the previous page, as given (opaque)")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    return cursors.next_cursor(last_key)


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    return cursors.decode(cursor)
