"""List pagination with an opaque cursor (DynamoDB's LastEvaluatedKey, base64url JSON)."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from storeloop.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


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
