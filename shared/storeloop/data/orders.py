"""Orders: the order item, its keys, its reads and the outcomes of its transitions (data/order_transitions.py).

Keys (docs/data-model.md, "Products, orders and points"):
- order `ORDER#<order_id>` / `ORDER`; GSI1 `MEMBER#<member_id>#ORDERS` / `<created_at>#<order_id>` (the shopper's
        orders, newest first); GSI2 `STORE#<store_id>#ORDERS` / `<created_at>#<order_id>` (a store's orders).

Every transition (data/order_transitions.py) is conditional on the status it leaves, so each happens at most once
however many copies of a request, a notification or a timeout race for it.
"""

from __future__ import annotations

import random
import time
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from storeloop.data import cursors
from storeloop.data.connection import dynamodb_client
from storeloop.data.coupons import Coupon, coupon_pk
from storeloop.data.members import MemberProfile, member_pk
from storeloop.data.models import Entity, read_page, start_key
from storeloop.data.products import StoreStock, stock_key
from storeloop.data.transactions import CONFLICT_ATTEMPTS, Busy

__all__ = ["Busy"]  # raised by the reads here and by every transition (data/transactions.py)

PENDING_PAYMENT, PAID, CANCELLED, COMPLETED = "pending_payment", "paid", "cancelled", "completed"
REFUND_PENDING, REFUNDED = "refund_pending", "refunded"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def member_orders_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}#ORDERS"


def store_orders_pk(store_id: str) -> str:
    return f"STORE#{store_id}#ORDERS"


class OrderLine(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    qty = NumberAttribute()
    price_fen = NumberAttribute()


class Order(Entity):
    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    status = UnicodeAttribute()
    items = ListAttribute(of=OrderLine)
    total_fen = NumberAttribute()
    discount_fen = NumberAttribute()
    points_used = NumberAttribute()
    payable_fen = NumberAttribute()
    coupon_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    pay_deadline = UnicodeAttribute()
    # paid
    pickup_code = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    points_earned = NumberAttribute(null=True)
    # cancelled (by the shopper or the payment timeout)
    cancelled_at = UnicodeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    # completed (picked up)
    completed_at = UnicodeAttribute(null=True)
    completed_by = UnicodeAttribute(null=True)
    # refunds: out_refund_no is fixed per order, so WeChat sees one refund however often it is asked
    refund_reason = UnicodeAttribute(null=True)
    refund_requested_at = UnicodeAttribute(null=True)
    refund_requested_by = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)  # WeChat's id, set once WeChat accepted the refund request
    refunded_at = UnicodeAttribute(null=True)
    auto_refund = BooleanAttribute(null=True)  # a payment that arrived after the order was cancelled
    points_clawed_back = NumberAttribute(null=True)
    source = UnicodeAttribute(null=True)  # issue 9: the source key of its coupon (domain.sources)
    # (issue 10) a campaign kind's order: "flash_sale" (its unit from the sale's own stock, `campaign_shard`) or
    # "group_buy" (store stock, its group `campaign_ref`); None for an ordinary order. See services/flash_sales.py
    # and services/group_buys.py.
    campaign_kind = UnicodeAttribute(null=True)
    campaign_ref = UnicodeAttribute(null=True)
    campaign_shard = NumberAttribute(null=True)

    @property
    def out_refund_no(self) -> str:
        return f"{self.order_id}-R"

    @property
    def holds_store_stock(self) -> bool:
        """(issue 10) A flash sale's unit is the sale's own stock, not the store's."""
        return self.campaign_kind != "flash_sale"

    def lines(self) -> list[tuple[str, int, int]]:
        return [(line.sku, int(line.qty), int(line.price_fen)) for line in self.items]


# --- outcomes -----------------------------------------------------------------------------------------


class StatusChanged(Exception):
    """The order was not in the status the transition leaves: someone else moved it first; nothing changed."""


class ReservationFailed(Exception):
    """Placing the order failed a reservation: `what` is "stock" (with the sku), "points" or "coupon"."""

    def __init__(self, what: str, sku: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.sku = sku


class BalanceChanged(Exception):
    """The balance moved between reading it and the refund's transaction: read again and retry."""


class CouponChanged(Exception):
    """The coupon was not held by this order as expected (nothing changed); the caller decides whether the
    transition goes ahead without it."""


class StepFailed(Exception):
    """(issue 10) The condition of an extra step a campaign kind added to a transition failed; nothing changed."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels


# --- reads --------------------------------------------------------------------------------------------


def get_order(order_id: str) -> Order | None:
    try:
        return Order.get(order_pk(order_id), "ORDER", consistent_read=True)
    except DoesNotExist:
        return None


def member_orders(member_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """A page of a member's orders, newest first, after the client's `cursor`; the next page's cursor (None: last).
    A cursor not of this member's orders is a 400."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=member_orders_pk(member_id))
    query = Order.gsi1.query(member_orders_pk(member_id), scan_index_forward=False, limit=limit + 1,
                             last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)


def read_for_order(member_id: str, store_id: str, skus: list[str], coupon_id: str | None
                   ) -> tuple[MemberProfile | None, dict[str, StoreStock], Coupon | None]:
    """The member's profile, the store's stock of each sku and the coupon: one strongly consistent BatchGetItem
    (the items are of three kinds, so the low-level client, then each model's from_raw_data)."""
    keys = [(member_pk(member_id), "PROFILE")] + [stock_key(store_id, sku) for sku in skus]
    if coupon_id:
        keys.append((coupon_pk(coupon_id), "COUPON"))
    table = Entity.Meta.table_name
    request: dict[str, Any] = {table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in keys],
                                       "ConsistentRead": True}}
    raw: list[dict[str, Any]] = []
    for attempt in range(CONFLICT_ATTEMPTS):
        answer = dynamodb_client().batch_get_item(RequestItems=request)
        raw += answer.get("Responses", {}).get(table, [])
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            break
        time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
    else:
        raise Busy()
    profile, stock, coupon = None, {}, None
    for item in raw:
        sk = item["SK"]["S"]
        if sk == "PROFILE":
            profile = MemberProfile.from_raw_data(item)
        elif sk == "COUPON":
            coupon = Coupon.from_raw_data(item)
        else:
            entry = StoreStock.from_raw_data(item)
            stock[entry.sku] = entry
    return profile, stock, coupon


def new_order(order_id: str, member_id: str, store_id: str, lines: list[tuple[str, str, int, int]],
              total_fen: int, discount_fen: int, points_used: int, payable_fen: int, coupon_id: str | None,
              created_at: str, pay_deadline: str) -> Order:
    """An unsaved order in `pending_payment`; `lines` are (sku, name, qty, unit price)."""
    return Order(
        order_pk(order_id), "ORDER", GSI1PK=member_orders_pk(member_id), GSI1SK=f"{created_at}#{order_id}",
        GSI2PK=store_orders_pk(store_id), GSI2SK=f"{created_at}#{order_id}", order_id=order_id,
        member_id=member_id, store_id=store_id, status=PENDING_PAYMENT,
        items=[OrderLine(sku=sku, name=name, qty=qty, price_fen=price) for sku, name, qty, price in lines],
        total_fen=total_fen, discount_fen=discount_fen, points_used=points_used, payable_fen=payable_fen,
        coupon_id=coupon_id, created_at=created_at, pay_deadline=pay_deadline,
    )


def record_refund_accepted(order: Order, refund_id: str) -> None:
    """WeChat accepted the refund request (its refund_id); idempotent, and only while the refund is pending."""
    try:
        Order(order.PK, order.SK).update(actions=[Order.refund_id.set(refund_id)],
                                         condition=Order.status == REFUND_PENDING)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise  # otherwise the refund notification already moved the order on: fine
