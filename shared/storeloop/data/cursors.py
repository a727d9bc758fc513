"""Page cursors: a query's LastEvaluatedKey as an opaque base64url string, and back, checked against the query.

Only `data/` sees keys. A list function takes the client's cursor, turns it into the query's start key with
`start_key` (which refuses a cursor of another index, partition or shape: 400, never a query from a forged key),
and hands its LastEvaluatedKey back through `next_cursor`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from storeloop.errors import ValidationFailed

MAX_CURSOR_CHARS = 2048


def _invalid() -> ValidationFailed:
    return ValidationFailed("cursor is not valid", details=[{"field": "cursor", "issue": "invalid"}])


def next_cursor(last_key: dict[str, Any] | None) -> str | None:
    """The page's `next`: None when the query read to its end."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> dict[str, Any] | None:
    """The key a cursor carries, unchecked (None for no cursor); a cursor that is not one is a 400."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _invalid()
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, json.JSONDecodeError):
        raise _invalid() from None
    if not isinstance(value, dict):
        raise _invalid()
    return value


def start_key(cursor: str | None, fields: Iterable[str], *, check: Callable[[dict[str, str]], bool] | None = None,
              **fixed: str) -> dict[str, Any] | None:
    """The ExclusiveStartKey for a query whose keys have exactly `fields` (the table's and the index's key
    attributes), all strings; `fixed` are attributes the cursor must carry as given (the query's partition);
    `check` may test the rest (e.g. a sort-key prefix). None when there is no cursor."""
    key = decode(cursor)
    if key is None:
        return None
    if (set(key) != set(fields) or not all(isinstance(v, str) for v in key.values())
            or any(key.get(k) != v for k, v in fixed.items()) or (check is not None and not check(key))):
        raise _invalid()
    return key
