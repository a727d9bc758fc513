"""MainTable's stream records as the consumers read them: which item a record is about (from its keys), its images.

The consumers in services/ ask `record_kind` and never parse a key: the key shapes stay in data/.
"""

from __future__ import annotations

from typing import Any

from storeloop.data.raw import item_from_raw

# (partition prefix, sort key) → what the item is. A member's partition holds more than these two (grants,
# holdings, the ledger...); no consumer reads those off the stream.
KINDS: tuple[tuple[str, str, str], ...] = (
    ("MEMBER#", "PROFILE", "member_profile"),
    ("MEMBER#", "CONSENT#CURRENT", "consent"),
    ("ORDER#", "ORDER", "order"),
    ("COUPON#", "COUPON", "coupon"),
    ("POSSALE#", "SALE", "pos_sale"),
    ("POSRETURN#", "RETURN", "pos_return"),
    ("APPT#", "APPT", "appointment"),
    ("VIEW#", "VIEW", "view"),
)


def record_keys(record: dict[str, Any]) -> tuple[str, str]:
    """The record's item key (PK, SK), "" for a missing one: for logs, and for the kinds below."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return str((keys.get("PK") or {}).get("S", "")), str((keys.get("SK") or {}).get("S", ""))


def record_kind(record: dict[str, Any]) -> str | None:
    """What the record's item is (`member_profile`, `consent`, `order`, `coupon`, `pos_sale`, `pos_return`,
    `appointment`, `view`), or None for any other item."""
    pk, sk = record_keys(record)
    return next((kind for prefix, key, kind in KINDS if pk.startswith(prefix) and sk == key), None)


def record_label(record: dict[str, Any]) -> tuple[str, str]:
    """(the kind of key, SK) for a log line that must not carry a member's id: the partition's prefix only."""
    pk, sk = record_keys(record)
    return pk.split("#")[0], sk


def images(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record's old and new image as plain values ({} when absent)."""
    body = record.get("dynamodb") or {}
    return item_from_raw(body.get("OldImage") or {}), item_from_raw(body.get("NewImage") or {})
