"""Orders: the order item and every transition of it, each one DynamoDB transaction with its reservations.

Keys (docs/data-model.md, "Products, orders and points"):
- order `ORDER#<order_id>` / `ORDER`; GSI1 `MEMBER#<member_id>#ORDERS` / `<created_at>#<order_id>` (the shopper's
        orders, newest first); GSI2 `STORE#<store_id>#ORDERS` / `<created_at>#<order_id>` (a store's orders).

Every transition is conditional on the status it leaves, so each happens at most once however many copies of a
request, a notification or a timeout race for it; the stock, points and coupon changes ride in the same
transaction, so they happen exactly when the transition does.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import points as ledger
from storeloop.data.connection import dynamodb_client
from storeloop.data.coupons import Coupon, coupon_pk
from storeloop.data.members import MemberProfile, member_pk
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.data.products import StoreStock, stock_key
from storeloop.domain.clock import to_rfc3339

PENDING_PAYMENT, PAID, CANCELLED, COMPLETED = "pending_payment", "paid", "cancelled", "completed"
REFUND_PENDING, REFUNDED = "refund_pending", "refunded"

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT_ATTEMPTS = 5

T = TypeVar("T")


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


class Busy(Exception):
    """Transaction conflicts outlasted the retries."""


@dataclass
class _Tx:
    """A TransactWrite that remembers a label per item, to tell which condition cancelled it.

    DynamoDB reports reasons in request order, and pynamodb sends condition checks, deletes, puts, then updates.
    """

    tx: TransactWrite
    labels: dict[str, list[str]] = field(default_factory=lambda: {"check": [], "put": [], "update": []})

    def check(self, model_cls: Any, hash_key: str, range_key: str, condition: Any, label: str) -> None:
        self.tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self.labels["check"].append(label)

    def save(self, model: Any, condition: Any, label: str) -> None:
        self.tx.save(model, condition=condition)
        self.labels["put"].append(label)

    def update(self, model: Any, actions: list[Any], condition: Any, label: str) -> None:
        self.tx.update(model, actions=actions, condition=condition)
        self.labels["update"].append(label)

    def failed(self, exc: Exception) -> list[str]:
        order = self.labels["check"] + self.labels["put"] + self.labels["update"]
        return [label for label, code in zip(order, cancellation_codes(exc), strict=False) if code == CONDITION_FAILED]


def _transact(build: Callable[[_Tx], None]) -> None:
    """Run one transaction built by `build`, retrying DynamoDB's TransactionConflict; _Failed names what failed."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        tx: _Tx | None = None
        try:
            with TransactWrite(connection=connection()) as raw:
                tx = _Tx(raw)
                build(tx)
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if tx is None or "TransactionConflict" not in codes or CONDITION_FAILED in codes:
                raise _Failed(tx, exc) from exc
            if attempt == CONFLICT_ATTEMPTS:
                raise Busy() from exc
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret


class _Failed(Exception):
    def __init__(self, tx: _Tx | None, exc: TransactWriteError) -> None:
        super().__init__(str(exc))
        self.labels = tx.failed(exc) if tx is not None else []


# --- reads --------------------------------------------------------------------------------------------


def get_order(order_id: str) -> Order | None:
    try:
        return Order.get(order_pk(order_id), "ORDER", consistent_read=True)
    except DoesNotExist:
        return None


def member_orders(member_id: str, limit: int, after: dict[str, str] | None) -> tuple[list[Order], dict | None]:
    """A member's orders, newest first; the key to continue after, or None on the last page."""
    start = start_key(after)
    query = Order.gsi1.query(member_orders_pk(member_id), scan_index_forward=False, limit=limit + 1,
                             last_evaluated_key=start)
    return read_page(query, limit, index="GSI1")


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


# --- transitions --------------------------------------------------------------------------------------


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


CouponStep = Callable[[_Tx], None]  # adds the coupon's own change to a transaction (see services.orders)


def place_order(order: Order, at: datetime, coupon_step: CouponStep | None = None) -> None:
    """Reserve every line's stock (condition: enough left), the points (condition: the balance holds them) and the
    coupon, and write the order, all or nothing. ReservationFailed says which reservation was refused."""

    def build(tx: _Tx) -> None:
        for sku, qty, _ in order.lines() if order.holds_store_stock else ():
            # issue 15: `reserved` counts units held for unfinished orders (the till's stock sync subtracts them)
            tx.update(StoreStock(*stock_key(order.store_id, sku)), [StoreStock.stock.add(-qty),
                                                                    StoreStock.reserved.add(qty)],
                      StoreStock.stock >= qty, f"stock:{sku}")
        tx.save(order, Order.PK.does_not_exist(), "order")
        if order.points_used:
            ledger.debit_profile(tx.tx, order.member_id, int(order.points_used))
            tx.labels["update"].append("points")  # one update, always added
            tx.save(ledger.ledger_entry(order.member_id, -int(order.points_used), ledger.ORDER_POINTS_USED, at,
                                        order_id=order.order_id, store_id=order.store_id),
                    ledger.PointsLedgerEntry.SK.does_not_exist(), "ledger")
        if coupon_step is not None:
            coupon_step(tx)

    try:
        _transact(build)
    except _Failed as failed:
        for label in failed.labels:
            if label.startswith("stock:"):
                raise ReservationFailed("stock", label.split(":", 1)[1]) from None
            if label in ("points", "coupon"):
                raise ReservationFailed(label) from None
        if failed.labels:  # (issue 10) a campaign kind's own step (its labels: flash_stock, flash_limit, group...)
            raise ReservationFailed(failed.labels[0]) from None
        raise


def _release(tx: _Tx, order: Order, at: datetime, reason: str) -> None:
    """Stock and points an order holds, given back (the coupon is the caller's `coupon_step`)."""
    if order.campaign_kind:  # (issue 10) the campaign kind's own reservation (a flash sale's unit)
        from storeloop.data import campaign_orders

        campaign_orders.release(tx, order)
    for sku, qty, _ in order.lines() if order.holds_store_stock else ():
        tx.update(StoreStock(*stock_key(order.store_id, sku)), [StoreStock.stock.add(qty),
                                                                StoreStock.reserved.add(-qty)], None, f"stock:{sku}")
    if order.points_used:
        if ledger.credit_profile(tx.tx, order.member_id, points=int(order.points_used)):
            tx.labels["update"].append("points")
        tx.save(ledger.ledger_entry(order.member_id, int(order.points_used), reason, at, order_id=order.order_id,
                                    store_id=order.store_id), ledger.PointsLedgerEntry.SK.does_not_exist(), "ledger")


def cancel_order(order: Order, at: datetime, reason: str, coupon_step: CouponStep | None = None) -> None:
    """pending_payment → cancelled, releasing stock, points and coupon exactly once. StatusChanged if not pending."""

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [Order.status.set(CANCELLED), Order.cancelled_at.set(to_rfc3339(at)),
                                              Order.cancel_reason.set(reason)],
                  Order.status == PENDING_PAYMENT, "order")
        _release(tx, order, at, ledger.ORDER_POINTS_RELEASED)
        if coupon_step is not None:
            coupon_step(tx)

    _run_transition(build)


def mark_paid(order: Order, at: datetime, transaction_id: str, pickup_code: str, points_earned: int,
              coupon_step: CouponStep | None = None, join_campaign_id: str | None = None,
              join_source: str | None = None) -> None:
    """pending_payment → paid: pickup code, points earned, lifetime spend, membership, coupon redeemed, once."""
    stamp = to_rfc3339(at)

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(PAID), Order.paid_at.set(stamp), Order.transaction_id.set(transaction_id),
            Order.pickup_code.set(pickup_code), Order.points_earned.set(points_earned),
        ], Order.status == PENDING_PAYMENT, "order")
        if ledger.credit_profile(tx.tx, order.member_id, points=points_earned, spend_fen=int(order.payable_fen),
                                 join_at=stamp, join_store_id=order.store_id, join_campaign_id=join_campaign_id,
                                 join_source=join_source):
            tx.labels["update"].append("profile")
        if points_earned:
            tx.save(ledger.ledger_entry(order.member_id, points_earned, ledger.ORDER_POINTS_EARNED, at,
                                        order_id=order.order_id, store_id=order.store_id),
                    ledger.PointsLedgerEntry.SK.does_not_exist(), "ledger")
        if coupon_step is not None:
            coupon_step(tx)

    _run_transition(build)


def mark_paid_after_cancel(order: Order, at: datetime, transaction_id: str) -> None:
    """A payment for an order already cancelled: cancelled → refund_pending (auto refund), once."""

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(REFUND_PENDING), Order.transaction_id.set(transaction_id), Order.auto_refund.set(True),
            Order.refund_reason.set("paid after the order was cancelled"),
            Order.refund_requested_at.set(to_rfc3339(at)), Order.refund_requested_by.set("system"),
        ], (Order.status == CANCELLED) & Order.transaction_id.does_not_exist(), "order")

    _run_transition(build)


def complete_pickup(order: Order, at: datetime, staff_member_id: str) -> None:
    """paid → completed, once."""

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [Order.status.set(COMPLETED), Order.completed_at.set(to_rfc3339(at)),
                                              Order.completed_by.set(staff_member_id)],
                  Order.status == PAID, "order")
        for sku, qty, _ in order.lines():  # issue 15: handed over, no longer held (the till's count drops now)
            tx.update(StoreStock(*stock_key(order.store_id, sku)), [StoreStock.reserved.add(-qty)], None,
                      f"stock:{sku}")

    _run_transition(build)


def request_refund(order: Order, at: datetime, reason: str, by: str) -> None:
    """paid or completed → refund_pending, once. An order not yet picked up gives its stock back: the goods never
    left the store. Points move when WeChat confirms the refund (`complete_refund`)."""
    was = order.status

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(REFUND_PENDING), Order.refund_reason.set(reason),
            Order.refund_requested_at.set(to_rfc3339(at)), Order.refund_requested_by.set(by),
        ], Order.status == was, "order")
        if was == PAID and order.holds_store_stock:
            for sku, qty, _ in order.lines():
                tx.update(StoreStock(*stock_key(order.store_id, sku)), [StoreStock.stock.add(qty),
                                                                        StoreStock.reserved.add(-qty)], None,
                          f"stock:{sku}")

    _run_transition(build)


def record_refund_accepted(order: Order, refund_id: str) -> None:
    """WeChat accepted the refund request (its refund_id); idempotent, and only while the refund is pending."""
    try:
        Order(order.PK, order.SK).update(actions=[Order.refund_id.set(refund_id)],
                                         condition=Order.status == REFUND_PENDING)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise  # otherwise the refund notification already moved the order on: fine


def complete_refund(order: Order, at: datetime, balance: int | None, coupon_step: CouponStep | None = None) -> int:
    """refund_pending → refunded, once. For a refund of a paid order: the points it used given back, the points it
    earned taken back, never below zero (`balance` is the balance just read; the update is conditional on it, so a
    concurrent change retries the caller instead of being overwritten). Returns the points taken back."""
    from storeloop.domain.points import clawback

    stamp = to_rfc3339(at)
    returned = int(order.points_used or 0)
    earned = int(order.points_earned or 0)
    taken, shortfall = (0, 0)
    if not order.auto_refund and balance is not None:
        taken, shortfall = clawback(balance + returned, earned)

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [Order.status.set(REFUNDED), Order.refunded_at.set(stamp),
                                              Order.points_clawed_back.set(taken)],
                  Order.status == REFUND_PENDING, "order")
        if coupon_step is not None:  # issue 9: return_on_refund gives the coupon back in the same transaction
            coupon_step(tx)
        if order.auto_refund or balance is None:
            return  # a late payment's order earned nothing and holds nothing: only the money goes back
        ledger.set_balance(tx.tx, order.member_id, balance, balance + returned - taken, -int(order.payable_fen))
        tx.labels["update"].append("balance")
        if returned:
            tx.save(ledger.ledger_entry(order.member_id, returned, ledger.REFUND_POINTS_RETURNED, at,
                                        order_id=order.order_id, store_id=order.store_id),
                    ledger.PointsLedgerEntry.SK.does_not_exist(), "ledger")
        if earned:
            # A microsecond later, so the statement lists the return before the clawback.
            tx.save(ledger.ledger_entry(order.member_id, -taken, ledger.REFUND_CLAWBACK, at + timedelta(microseconds=1),
                                        order_id=order.order_id,
                                        store_id=order.store_id, shortfall=shortfall),
                    ledger.PointsLedgerEntry.SK.does_not_exist(), "ledger")

    _run_transition(build)
    return taken


class BalanceChanged(Exception):
    """The balance moved between reading it and the refund's transaction: read again and retry."""


class CouponChanged(Exception):
    """The coupon was not held by this order as expected (nothing changed); the caller decides whether the
    transition goes ahead without it."""


def _run_transition(build: Callable[[_Tx], None]) -> None:
    try:
        _transact(build)
    except _Failed as failed:
        if "order" in failed.labels:
            raise StatusChanged() from None
        if "balance" in failed.labels:
            raise BalanceChanged() from None
        if "coupon" in failed.labels:
            raise CouponChanged() from None
        if failed.labels:  # (issue 10) a campaign kind's own step (a group's count)
            raise StepFailed(failed.labels) from None
        raise


class StepFailed(Exception):
    """(issue 10) The condition of an extra step a campaign kind added to a transition failed; nothing changed."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels


# --- (issue 10) a payment the order's campaign cannot take --------------------------------------------


def refuse_payment(order: Order, at: datetime, transaction_id: str, reason: str) -> None:
    """pending_payment → refund_pending (auto refund) for a payment that arrived for a full or failed group: what
    the order held is released, as a cancel would, and the money goes back. StatusChanged if not pending."""

    def build(tx: _Tx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(REFUND_PENDING), Order.transaction_id.set(transaction_id), Order.auto_refund.set(True),
            Order.refund_reason.set(reason), Order.cancelled_at.set(to_rfc3339(at)), Order.cancel_reason.set(reason),
            Order.refund_requested_at.set(to_rfc3339(at)), Order.refund_requested_by.set("system"),
        ], Order.status == PENDING_PAYMENT, "order")
        _release(tx, order, at, ledger.ORDER_POINTS_RELEASED)

    _run_transition(build)


def retry(run: Callable[[], T], on: type[Exception], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run `run` again while it raises `on` (an optimistic condition lost to a concurrent change)."""
    for attempt in range(1, attempts + 1):
        try:
            return run()
        except on:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")
