"""A store's own day: its visits of a date, the pickups waiting, its verifications of a date.

Keys (docs/data-model.md, "The store's own day"):
- visits        GSI2 `STORE#<store>#APPTS#<date>` / `<slot start>#<id>` (the appointment item, data/appointments.py)
- verifications GSI1 `STORE#<store>#VERIFICATIONS` / `<verified_at>#<id>` (the verification, data/verification.py)
- pickups       `STORE#<store>#PICKUPS` / `<paid_at>#<order_id>`: one item per paid order waiting to be picked up,
                put and deleted by the MainTable stream consumer as an order becomes and stops being `paid`
                (`pickup_index_changes`), so no order path writes it; reads confirm each order's status.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from pynamodb.attributes import UnicodeAttribute

from storeloop.data import cursors
from storeloop.data.appointments import Appointment, store_day_index_pk
from storeloop.data.connection import dynamodb_client
from storeloop.data.keys import member_pk
from storeloop.data.members import MemberProfile
from storeloop.data.models import Entity, read_page, start_key
from storeloop.data.orders import PAID, Order, order_pk
from storeloop.data.raw import item_to_raw, table_name
from storeloop.data.records import images, record_keys
from storeloop.data.verification import Verification

WRITE_ATTEMPTS = 5


def pickups_pk(store_id: str) -> str:
    return f"STORE#{store_id}#PICKUPS"


def verifications_pk(store_id: str) -> str:
    return f"STORE#{store_id}#VERIFICATIONS"


class PickupWaiting(Entity):
    order_id = UnicodeAttribute()
    paid_at = UnicodeAttribute()


# ---------------------------------------------------------------- visits


def day_appointments(store_id: str, day: str, status: str | None, limit: int, cursor: str | None
                     ) -> tuple[list[Appointment], str | None]:
    """The day's appointments in slot order (Query GSI2 `STORE#<id>#APPTS#<date>`), optionally of one status; from
    the client's cursor (a key of this day's list, else 400), with the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI2PK", "GSI2SK"), GSI2PK=store_day_index_pk(store_id, day))
    query = Appointment.gsi2.query(store_day_index_pk(store_id, day), limit=limit + 1,
                                   filter_condition=(Appointment.status == status) if status else None,
                                   last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI2")
    return cast(list[Appointment], items), cursors.next_cursor(last)


def profiles(member_ids: Iterable[str]) -> dict[str, MemberProfile]:
    keys = [(member_pk(m), "PROFILE") for m in dict.fromkeys(member_ids) if m and m != "erased"]
    return {p.member_id: p for p in MemberProfile.batch_get(keys, attributes_to_get=[
        "PK", "SK", "member_id", "joined_at", "lifetime_spend_fen"])} if keys else {}


# ---------------------------------------------------------------- verifications


def day_verifications(store_id: str, day: str, limit: int, cursor: str | None
                      ) -> tuple[list[Verification], str | None]:
    """The day's verifications at the store, latest first (Query GSI1, `begins_with(GSI1SK, "<date>T")`); from the
    client's cursor (a key of this day's list, else 400), with the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=verifications_pk(store_id),
                              check=lambda k: k["GSI1SK"].startswith(f"{day}T"))
    query = Verification.gsi1.query(verifications_pk(store_id), Entity.GSI1SK.startswith(f"{day}T"),
                                    scan_index_forward=False, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return cast(list[Verification], items), cursors.next_cursor(last)


# ---------------------------------------------------------------- pickups


def waiting_pickups(store_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """Paid orders waiting at the store, oldest payment first: Query `STORE#<id>#PICKUPS`, then BatchGetItem the
    orders (strongly consistent) and keep those still `paid` (the index follows the stream by about a second).
    From the client's cursor (a key of this list, else 400), with the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK"), PK=pickups_pk(store_id))
    marks, last = read_page(PickupWaiting.query(pickups_pk(store_id), limit=limit + 1,
                                                last_evaluated_key=start_key(after)), limit)
    keys = [(order_pk(str(m.order_id)), "ORDER") for m in marks]
    found = {o.order_id: o for o in Order.batch_get(keys, consistent_read=True)} if keys else {}
    return [found[str(m.order_id)] for m in marks
            if str(m.order_id) in found and found[str(m.order_id)].status == PAID], cursors.next_cursor(last)


def pickup_index_changes(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The pickup index a batch of stream records calls for, in record order, the last change per key winning:
    key → the item to put (the order became paid) or None to delete it (it left paid)."""
    changes: dict[tuple[str, str], dict[str, Any] | None] = {}
    for record in records:
        if not record_keys(record)[0].startswith("ORDER#"):
            continue
        old, new = images(record)
        if new.get("status") == PAID and old.get("status") != PAID and new.get("paid_at") and new.get("store_id"):
            key = (pickups_pk(new["store_id"]), f"{new['paid_at']}#{new['order_id']}")
            changes[key] = {"PK": key[0], "SK": key[1], "order_id": new["order_id"], "paid_at": new["paid_at"]}
        elif old.get("status") == PAID and new.get("status") != PAID and old.get("paid_at") and old.get("store_id"):
            changes[(pickups_pk(old["store_id"]), f"{old['paid_at']}#{old['order_id']}")] = None
    return changes


def apply_pickup_index(changes: dict[tuple[str, str], dict[str, Any] | None]) -> None:
    """BatchWriteItem (25 a call, unprocessed retried); puts and deletes by key are idempotent."""
    requests = [{"PutRequest": {"Item": item_to_raw(item)}} if item is not None else
                {"DeleteRequest": {"Key": {"PK": {"S": pk}, "SK": {"S": sk}}}} for (pk, sk), item in changes.items()]
    client, table = dynamodb_client(), table_name()
    for first in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[first:first + 25]}
        for attempt in range(WRITE_ATTEMPTS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * (2 ** attempt))
        else:
            raise RuntimeError("BatchWriteItem left pickup index items unprocessed")
