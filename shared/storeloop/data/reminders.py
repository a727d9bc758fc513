"""The reminder indexes' items (a coupon's expiry, a booked visit's hour) and the coupons the expiry index names.

The items are written with the analytics consumer's batch (data/analytics.py `put_index_items`) and read by the
schedules through `expiring_coupon_ids` / `appointments_in_hour` there; their keys are built here:
`EXPIRY#<valid_until date>#<shard>` / `<valid_until>#<coupon_id>`, `VISITREMIND#<slot date>T<hour>` /
`<slot start>#<appointment_id>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from storeloop.data.analytics import EXPIRY_SHARDS, expiry_pk, visit_reminder_pk
from storeloop.data.coupons import Coupon, coupon_pk


def _expiry_shard(coupon_id: str) -> int:
    return int(hashlib.sha256(coupon_id.encode()).hexdigest(), 16) % EXPIRY_SHARDS


def coupon_expiry_item(coupon_id: str, valid_until: str, expires_at: int) -> dict[str, Any]:
    """The index item of a coupon valid until `valid_until` (RFC 3339, +08:00); TTL `expires_at` (epoch)."""
    return {"PK": expiry_pk(valid_until[:10], _expiry_shard(coupon_id)), "SK": f"{valid_until}#{coupon_id}",
            "coupon_id": coupon_id, "valid_until": valid_until, "expires_at": expires_at}


def visit_reminder_item(appointment_id: str, slot_start: str, expires_at: int) -> dict[str, Any]:
    """The index item of a visit booked for `slot_start` (RFC 3339, +08:00); TTL `expires_at` (epoch)."""
    return {"PK": visit_reminder_pk(slot_start[:13]), "SK": f"{slot_start}#{appointment_id}",
            "appointment_id": appointment_id, "slot_start": slot_start, "expires_at": expires_at}


def coupons_by_id(coupon_ids: Iterable[str]) -> list[Coupon]:
    """The coupons that exist of these ids (BatchGetItem, in no particular order)."""
    return list(Coupon.batch_get([(coupon_pk(c), "COUPON") for c in dict.fromkeys(coupon_ids)]))
