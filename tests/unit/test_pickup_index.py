"""The pickup index a stream batch calls for (data.store_day.pickup_index_changes): pure, from the records."""

from __future__ import annotations

from typing import Any

from storeloop.data.store_day import pickup_index_changes

PAID_AT = "2026-12-01T10:00:00+08:00"


def record(status_before: str | None, status_after: str | None, order_id: str = "ord_1",
           pk: str | None = None) -> dict[str, Any]:
    def image(status: str | None) -> dict[str, Any]:
        if status is None:
            return {}
        item = {"order_id": {"S": order_id}, "store_id": {"S": "s1"}, "status": {"S": status}}
        if status != "pending_payment":
            item["paid_at"] = {"S": PAID_AT}
        return item

    return {"eventName": "MODIFY", "dynamodb": {
        "Keys": {"PK": {"S": pk or f"ORDER#{order_id}"}, "SK": {"S": "ORDER"}},
        "OldImage": image(status_before), "NewImage": image(status_after)}}


KEY = ("STORE#s1#PICKUPS", f"{PAID_AT}#ord_1")


def test_an_order_that_becomes_paid_is_put() -> None:
    assert pickup_index_changes([record("pending_payment", "paid")]) == {
        KEY: {"PK": KEY[0], "SK": KEY[1], "order_id": "ord_1", "paid_at": PAID_AT}}


def test_an_order_that_leaves_paid_is_deleted() -> None:
    for after in ("completed", "refund_pending"):
        assert pickup_index_changes([record("paid", after)]) == {KEY: None}


def test_the_last_change_of_a_key_in_a_batch_wins() -> None:
    assert pickup_index_changes([record("pending_payment", "paid"), record("paid", "completed")]) == {KEY: None}


def test_other_records_and_other_changes_are_ignored() -> None:
    assert pickup_index_changes([
        record("pending_payment", "cancelled"),  # never paid
        record("paid", "paid"),  # a paid order touched again
        record("completed", "refunded"),
        record("pending_payment", "paid", pk="COUPON#c_1"),  # not an order
        {"eventName": "REMOVE", "dynamodb": {"Keys": {"PK": {"S": "ORDER#x"}, "SK": {"S": "ORDER"}}}},
    ]) == {}
