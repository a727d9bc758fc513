"""WeChat Pay's notifications of an order: paid (the coupon redeemed, points earned) and refunded (points and coupon
given back), each acted on once however often WeChat sends it (services/orders.py: the order's other transitions)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import order_transitions, orders, points, transactions
from storeloop.domain.clock import now
from storeloop.domain.points import points_earned
from storeloop.services import payments
from storeloop.services.orders import coupon_redeem, coupon_return, load, send_refund
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)


def handle_pay_notification(settings: Settings, headers: Mapping[str, str], body: str | bytes) -> str:
    """Act on one verified notification, idempotently; returns what happened (for the log).

    NotificationRejected (bad or stale signature, unknown serial, undecryptable) propagates: the webhook answers
    401 and nothing changes. Authentic notifications that do not fit the order (another merchant or app, another
    amount, an unknown order) are logged and acknowledged, changing nothing: WeChat would only send them again.
    """
    note = payments.parse_notification(settings, headers, body)
    log = {"notification_id": note.notification_id, "event_type": note.event_type, "order_id": note.out_trade_no}
    resource = note.resource
    if note.kind == "other":
        outcome = "ignored"
    elif resource.get("mchid") != settings.pay_mchid:
        outcome = "rejected_mchid"
    elif note.kind == "payment" and resource.get("appid") != settings.wechat_appid:
        outcome = "rejected_appid"
    else:
        order = orders.get_order(note.out_trade_no) if note.out_trade_no else None
        if order is None:
            outcome = "unknown_order"
        elif note.kind == "payment":
            outcome = _on_payment(settings, order, resource)
        else:
            outcome = _on_refund(order, note.event_type, resource)
    level = logger.warning if outcome.startswith(("rejected", "unknown")) else logger.info
    level("wechat pay notification", extra={**log, "outcome": outcome})
    return outcome


def _amount(resource: Mapping[str, Any], name: str) -> int | None:
    amount = resource.get("amount")
    value = amount.get(name) if isinstance(amount, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _on_payment(settings: Settings, order: orders.Order, resource: Mapping[str, Any]) -> str:
    if resource.get("trade_state") != "SUCCESS":
        return "ignored_trade_state"
    if _amount(resource, "total") != int(order.payable_fen):
        return "rejected_amount"
    transaction_id = str(resource.get("transaction_id") or "")
    if not transaction_id:
        return "rejected_transaction_id"
    at = now()
    if order.status == orders.PENDING_PAYMENT and order.campaign_kind == "group_buy":
        # (issue 10) a group buy's payment counts toward its group, or is refused (auto refund, below) when the
        # group is full, failed or out of time; None: the order had already left pending_payment.
        from storeloop.services import group_buys

        if group_buys.on_payment(settings, order, transaction_id, at) == "paid":
            return "paid"
        order = load(order.order_id)
    if order.status == orders.PENDING_PAYMENT:
        code = f"{secrets.randbelow(10**6):06d}"
        earned = points_earned(int(order.payable_fen), settings.points_per_yuan)
        try:
            try:
                step, campaign_id = coupon_redeem(order, at)
                order_transitions.mark_paid(order, at, transaction_id, code, earned, step, join_campaign_id=campaign_id,
                                     join_source=order.source if campaign_id else None)
            except orders.CouponChanged:
                # The money is in: the order is paid whatever happened to its coupon (logged for a person).
                logger.error("paid order's coupon was not locked by it", extra={"order_id": order.order_id})
                order_transitions.mark_paid(order, at, transaction_id, code, earned)
            return "paid"
        except orders.StatusChanged:
            order = load(order.order_id)  # the timeout or a copy of this notification came first
    if order.status == orders.CANCELLED and not order.transaction_id:
        try:
            order_transitions.mark_paid_after_cancel(order, at, transaction_id)
        except orders.StatusChanged:
            pass
        order = load(order.order_id)
    if order.status == orders.REFUND_PENDING and order.auto_refund and not order.refund_id:
        send_refund(settings, order)  # UpstreamUnavailable → 5xx → WeChat notifies again → sent again
        return "auto_refund_requested"
    return f"duplicate_{order.status}"


def _on_refund(order: orders.Order, event_type: str, resource: Mapping[str, Any]) -> str:
    if resource.get("out_refund_no") != order.out_refund_no:
        return "rejected_out_refund_no"
    if event_type != "REFUND.SUCCESS" or resource.get("refund_status") != "SUCCESS":
        # REFUND.ABNORMAL / REFUND.CLOSED: the order stays refund_pending for a person to look at.
        return f"refund_not_successful_{event_type}"
    if _amount(resource, "refund") != int(order.payable_fen):
        return "rejected_amount"
    if order.status != orders.REFUND_PENDING:
        return f"duplicate_{order.status}"

    def complete(give_back: bool = True) -> int:
        fresh = load(order.order_id)
        if fresh.status != orders.REFUND_PENDING:
            raise orders.StatusChanged()
        at = now()
        step = coupon_return(fresh, at) if give_back else None
        return order_transitions.complete_refund(fresh, at, points.balance(fresh.member_id), step)

    try:
        try:
            transactions.retry(complete, orders.BalanceChanged)
        except orders.CouponChanged:  # the coupon moved meanwhile: the refund goes ahead without giving it back
            transactions.retry(lambda: complete(False), orders.BalanceChanged)
    except orders.StatusChanged:
        return "duplicate_refunded"
    return "refunded"

