"""Every transition of an order, each one DynamoDB transaction with its reservations (data/orders.py: the order).

Every transition is conditional on the status it leaves, so each happens at most once however many copies of a
request, a notification or a timeout race for it; the stock, points and coupon changes ride in the same
transaction, so they happen exactly when the transition does. A transition takes the steps of the other
aggregates it carries (a coupon's, a campaign kind's: `coupon_step`) and says which condition refused it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from storeloop.data import points as ledger
from storeloop.data.orders import (
    CANCELLED,
    COMPLETED,
    PAID,
    PENDING_PAYMENT,
    REFUND_PENDING,
    REFUNDED,
    BalanceChanged,
    CouponChanged,
    Order,
    ReservationFailed,
    StatusChanged,
    StepFailed,
)
from storeloop.data.products import StoreStock, stock_key
from storeloop.data.transactions import Failed, LabelledTx, Step, transact
from storeloop.domain.clock import to_rfc3339


def place_order(order: Order, at: datetime, coupon_step: Step | None = None) -> None:
    """Reserve every line's stock (condition: enough left), the points (condition: the balance holds them) and the
    coupon, and write the order, all or nothing. ReservationFailed says which reservation was refused."""

    def build(tx: LabelledTx) -> None:
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
        transact(build)
    except Failed as failed:
        for label in failed.labels:
            if label.startswith("stock:"):
                raise ReservationFailed("stock", label.split(":", 1)[1]) from None
            if label in ("points", "coupon"):
                raise ReservationFailed(label) from None
        if failed.labels:  # (issue 10) a campaign kind's own step (its labels: flash_stock, flash_limit, group...)
            raise ReservationFailed(failed.labels[0]) from None
        raise


def _release(tx: LabelledTx, order: Order, at: datetime, reason: str) -> None:
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


def cancel_order(order: Order, at: datetime, reason: str, coupon_step: Step | None = None) -> None:
    """pending_payment → cancelled, releasing stock, points and coupon exactly once. StatusChanged if not pending."""

    def build(tx: LabelledTx) -> None:
        tx.update(Order(order.PK, order.SK), [Order.status.set(CANCELLED), Order.cancelled_at.set(to_rfc3339(at)),
                                              Order.cancel_reason.set(reason)],
                  Order.status == PENDING_PAYMENT, "order")
        _release(tx, order, at, ledger.ORDER_POINTS_RELEASED)
        if coupon_step is not None:
            coupon_step(tx)

    _run_transition(build)


def mark_paid(order: Order, at: datetime, transaction_id: str, pickup_code: str, points_earned: int,
              coupon_step: Step | None = None, join_campaign_id: str | None = None,
              join_source: str | None = None) -> None:
    """pending_payment → paid: pickup code, points earned, lifetime spend, membership, coupon redeemed, once."""
    stamp = to_rfc3339(at)

    def build(tx: LabelledTx) -> None:
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

    def build(tx: LabelledTx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(REFUND_PENDING), Order.transaction_id.set(transaction_id), Order.auto_refund.set(True),
            Order.refund_reason.set("paid after the order was cancelled"),
            Order.refund_requested_at.set(to_rfc3339(at)), Order.refund_requested_by.set("system"),
        ], (Order.status == CANCELLED) & Order.transaction_id.does_not_exist(), "order")

    _run_transition(build)


def complete_pickup(order: Order, at: datetime, staff_member_id: str) -> None:
    """paid → completed, once."""

    def build(tx: LabelledTx) -> None:
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

    def build(tx: LabelledTx) -> None:
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


def complete_refund(order: Order, at: datetime, balance: int | None, coupon_step: Step | None = None) -> int:
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

    def build(tx: LabelledTx) -> None:
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


def _run_transition(build: Callable[[LabelledTx], None]) -> None:
    try:
        transact(build)
    except Failed as failed:
        if "order" in failed.labels:
            raise StatusChanged() from None
        if "balance" in failed.labels:
            raise BalanceChanged() from None
        if "coupon" in failed.labels:
            raise CouponChanged() from None
        if failed.labels:  # (issue 10) a campaign kind's own step (a group's count)
            raise StepFailed(failed.labels) from None
        raise


# --- (issue 10) a payment the order's campaign cannot take --------------------------------------------


def refuse_payment(order: Order, at: datetime, transaction_id: str, reason: str) -> None:
    """pending_payment → refund_pending (auto refund) for a payment that arrived for a full or failed group: what
    the order held is released, as a cancel would, and the money goes back. StatusChanged if not pending."""

    def build(tx: LabelledTx) -> None:
        tx.update(Order(order.PK, order.SK), [
            Order.status.set(REFUND_PENDING), Order.transaction_id.set(transaction_id), Order.auto_refund.set(True),
            Order.refund_reason.set(reason), Order.cancelled_at.set(to_rfc3339(at)), Order.cancel_reason.set(reason),
            Order.refund_requested_at.set(to_rfc3339(at)), Order.refund_requested_by.set("system"),
        ], Order.status == PENDING_PAYMENT, "order")
        _release(tx, order, at, ledger.ORDER_POINTS_RELEASED)

    _run_transition(build)
