"""Orders for pickup: place (reserve, start the payment flow, prepay), read, cancel, time out, pick up, refund.

The order's status is the single arbiter: every transition is a DynamoDB transaction conditional on the status it
leaves (data/order_transitions.py), so a payment racing the timeout, ten copies of one notification or two managers
refunding at once each end in exactly one outcome. WeChat Pay's notifications (paid, refunded) are
services/order_notifications.py.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import aws, crypto
from storeloop.caller import Caller
from storeloop.data import coupon_orders, coupons, order_transitions, orders, products, stores
from storeloop.data.transactions import Step
from storeloop.domain.clock import now, parse_rfc3339, to_rfc3339
from storeloop.domain.coupons import applicable_spend, check_redeemable
from storeloop.domain.errors import CouponAlreadyRedeemed, InsufficientPoints, OutOfStock
from storeloop.domain.orders import price_order
from storeloop.domain.sources import parse_source_key
from storeloop.errors import ApiError, Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.orders import (
    CreateOrderRequest,
    CreateOrderResponse,
    OrderLineOut,
    OrderList,
    OrderOut,
    PaymentParams,
)
from storeloop.services import group_orders, payments
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

ONLINE = "online"
REASON_SHOPPER, REASON_TIMEOUT = "shopper", "payment_timeout"


class CouponNotFound(ApiError):
    status, code, message = 404, "COUPON_NOT_FOUND", "no such coupon"


# --- reading and showing ------------------------------------------------------------------------------


def order_out(order: orders.Order, caller: Caller | None = None) -> OrderOut:
    """The Order of API.md; the pickup code only to its owner (staff must be told it, not read it)."""
    show_code = caller is not None and caller.member_id == order.member_id and order.status in (
        orders.PAID, orders.COMPLETED)
    return OrderOut(
        order_id=order.order_id, status=order.status, store_id=order.store_id,  # type: ignore[arg-type]
        items=[OrderLineOut(sku=line.sku, name=line.name, qty=int(line.qty), price_fen=int(line.price_fen))
               for line in order.items],
        total_fen=int(order.total_fen), discount_fen=int(order.discount_fen), points_used=int(order.points_used),
        payable_fen=int(order.payable_fen), coupon_id=order.coupon_id,
        pickup_code=order.pickup_code if show_code else None,
        points_earned=int(order.points_earned) if order.points_earned is not None else None,
        created_at=order.created_at, pay_deadline=order.pay_deadline, paid_at=order.paid_at,
        cancelled_at=order.cancelled_at, completed_at=order.completed_at,
        refund_requested_at=order.refund_requested_at, refunded_at=order.refunded_at,
        source=parse_source_key(order.source) if order.source else None,  # issue 9
        campaign_kind=order.campaign_kind, campaign_ref=order.campaign_ref,  # type: ignore[arg-type]  # issue 10
    )


def load(order_id: str) -> orders.Order:
    """The order; 404 when there is none."""
    order = orders.get_order(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def get_order(caller: Caller, order_id: str) -> OrderOut:
    order = load(order_id)
    if not (caller.member_id == order.member_id or caller.is_admin or caller.is_staff_of(order.store_id)):
        raise Forbidden("only the shopper, staff of its store or an admin may read this order")
    return order_out(order, caller)


def my_orders(caller: Caller, limit: int, cursor: str | None) -> OrderList:
    items, after = orders.member_orders(caller.member_id, limit, cursor)
    return OrderList(items=[order_out(o, caller) for o in items], next=after)


# --- placing ------------------------------------------------------------------------------------------


def _unknown_lines(body: CreateOrderRequest, stock: Mapping[str, products.StoreStock]) -> None:
    """Why some line has no stock item at this store: the store (404), the sku (400), or none here (409)."""
    missing = [item.sku for item in body.items if item.sku not in stock]
    if not missing:
        return
    if not stock and stores.get_store(body.store_id) is None:
        raise NotFound(f"store {body.store_id} not found")
    known = products.existing_skus(missing)
    unknown = [i for i, item in enumerate(body.items) if item.sku in missing and item.sku not in known]
    if unknown:
        raise ValidationFailed("unknown sku", details=[{"field": f"items.{i}.sku", "issue": "unknown",
                                                        "message": body.items[i].sku} for i in unknown])
    raise OutOfStock(f"{missing[0]} is not sold at this store", details={"sku": missing[0]})


def _check_coupon(coupon: coupons.Coupon | None, coupon_id: str, caller: Caller, store_id: str,
                  total_fen: int, at: datetime, lines: list[tuple[str, int, int]] | None = None) -> Any:
    if coupon is None or coupon.member_id != caller.member_id:
        raise CouponNotFound(f"coupon {coupon_id} not found")
    rule = coupons.coupon_rule(coupon)
    valid_from, valid_until = coupons.coupon_window(coupon)
    scoped = bool(rule.skus) and lines is not None  # issue 9: the minimum is checked on the scoped spend
    check_redeemable(rule, coupon.status, valid_from, valid_until, store_id, ONLINE, None if scoped else total_fen, at)
    if scoped:
        applicable_spend(rule, lines, total_fen)  # COUPON_NOT_APPLICABLE when no line is covered
    return rule


def _coupon_base(rule: Any, lines: list[tuple[str, int, int]]) -> int | None:
    """Issue 9: the spend a scoped coupon applies to (None: the whole order)."""
    return applicable_spend(rule, lines, None) if rule is not None and rule.skus else None


def _description(lines: list[tuple[str, str, int, int]]) -> str:
    first = lines[0][1]
    more = sum(qty for _, _, qty, _ in lines) - 1
    return (f"{first} 等{more + 1}件" if more else first)[:127]


def create_order(settings: Settings, caller: Caller, body: CreateOrderRequest) -> CreateOrderResponse:
    """Reserve stock, coupon and points in one transaction, start the payment timeout, and prepay with WeChat."""
    if not settings.order_state_machine_arn:
        raise RuntimeError("ORDER_STATE_MACHINE_ARN is not set for this function")
    at = now()
    skus = [item.sku for item in body.items]
    try:
        profile, stock, coupon = orders.read_for_order(caller.member_id, body.store_id, skus, body.coupon_id)
    except orders.Busy:
        raise RateLimited("too many orders at once, retry", headers={"Retry-After": "1"}) from None
    _unknown_lines(body, stock)
    inactive = next((item.sku for item in body.items if stock[item.sku].active is False), None)
    if inactive is not None:  # issue 8: HQ deactivated it (PATCH /admin/products/{sku} {"active": false})
        raise Conflict(f"{inactive} is no longer sold", code="PRODUCT_INACTIVE", details={"sku": inactive})
    if profile is None or not profile.openid_enc:
        raise Forbidden("this member can no longer order")  # erased between login and now
    lines = [(item.sku, stock[item.sku].name, item.qty, int(stock[item.sku].price_fen)) for item in body.items]
    total = sum(qty * price for _, _, qty, price in lines)
    priced = [(sku, qty, price) for sku, _, qty, price in lines]
    rule = _check_coupon(coupon, body.coupon_id, caller, body.store_id, total, at, priced) if body.coupon_id else None
    totals = price_order(priced, rule, body.points, int(profile.points), coupon_base_fen=_coupon_base(rule, priced))
    short = next((item.sku for item in body.items if int(stock[item.sku].stock) < item.qty), None)
    if short is not None:  # a strongly consistent read: no transaction needed to know
        raise OutOfStock(details={"sku": short})

    payments.require_configured(settings)  # before reserving anything the shopper could then not pay for
    order_id = "ord_" + uuid.uuid4().hex[:24]
    deadline = at + timedelta(seconds=settings.order_payment_timeout_seconds)
    order = orders.new_order(order_id, caller.member_id, body.store_id, lines, totals.total_fen,
                                 totals.discount_fen, totals.points_used, totals.payable_fen, body.coupon_id,
                                 to_rfc3339(at), to_rfc3339(deadline))
    if coupon is not None and body.coupon_id:
        order.source = coupon.source_key()  # issue 9: the order carries its coupon's source
    try:
        order_transitions.place_order(order, at, coupon_orders.lock_step(body.coupon_id, caller.member_id, order_id)
                                      if body.coupon_id else None)
    except orders.ReservationFailed as failed:
        if failed.what == "stock":
            raise OutOfStock(details={"sku": failed.sku}) from None
        if failed.what == "points":
            raise InsufficientPoints(details={"requested": totals.points_used}) from None
        fresh = coupons.get_coupon(body.coupon_id or "", consistent=True)
        _check_coupon(fresh, body.coupon_id or "", caller, body.store_id, total, at)
        raise CouponAlreadyRedeemed() from None
    except orders.Busy:
        raise RateLimited("too many orders at once, retry", headers={"Retry-After": "1"}) from None

    return start_payment(settings, caller, order, profile.openid_enc, at)


def start_payment(settings: Settings, caller: Caller, order: orders.Order, openid_enc: str,
                  at: datetime) -> CreateOrderResponse:
    """For a placed order (reservations held): start its payment timer and prepay with WeChat; on any failure
    release what it holds at once. Also the second half of a flash sale's or a group buy's order (issue 10)."""
    try:
        # The timer first: once it runs, the reservations are released even if everything after this fails.
        aws.start_execution(settings.order_state_machine_arn, order.order_id,
                            {"order_id": order.order_id, "timeout_seconds": settings.order_payment_timeout_seconds})
        openid = crypto.decrypt(settings.data_key, openid_enc, "openid")
        lines = [(line.sku, line.name, int(line.qty), int(line.price_fen)) for line in order.items]
        payment = payments.prepay(settings, order.order_id, _description(lines), int(order.payable_fen), openid,
                                  parse_rfc3339(order.pay_deadline))
    except Exception:
        # No order the shopper cannot pay should hold stock for 15 minutes: release it now.
        _cancel(order, at, "prepay_failed")
        raise
    return CreateOrderResponse(order=order_out(order, caller), payment=PaymentParams(**payment))


# --- the coupon's part in each transition (its steps: data/coupon_orders.py) -----------------------------


def _coupon_release(order: orders.Order) -> Step | None:
    return coupon_orders.release_step(order.coupon_id, order.order_id) if order.coupon_id else None


def coupon_redeem(order: orders.Order, at: datetime) -> tuple[Step | None, str | None]:
    """locked → redeemed, with its verification record; and the coupon's campaign, which a first paid order makes
    the member join through."""
    if not order.coupon_id:
        return None, None
    held = coupons.get_coupon(order.coupon_id, consistent=True)
    if held is None:
        return None, None
    return coupon_orders.redeem_step(held, order.order_id, order.store_id, ONLINE, int(order.total_fen),
                                     int(order.discount_fen), at), held.campaign_id


def coupon_return(order: orders.Order, at: datetime) -> Step | None:
    """Issue 9, return_on_refund: the refunded order's coupon active again, if the template says so and the coupon
    is still valid."""
    if not order.coupon_id:
        return None
    held = coupons.get_coupon(order.coupon_id, consistent=True)
    if (held is None or not held.return_on_refund or held.status != "redeemed" or not held.verification_id
            or at >= coupons.coupon_window(held)[1]):
        return None
    return coupon_orders.return_step(held, held.verification_id, at)


# --- cancelling and the payment timeout ---------------------------------------------------------------


def _cancel(order: orders.Order, at: datetime, reason: str) -> bool:
    """Cancel a pending order, releasing what it holds; False if it had already left pending_payment."""
    try:
        try:
            order_transitions.cancel_order(order, at, reason, _coupon_release(order))
        except orders.CouponChanged:
            # The coupon is no longer locked by this order (nothing to give back): release the rest regardless.
            logger.error("cancelled order's coupon was not locked by it", extra={"order_id": order.order_id})
            order_transitions.cancel_order(order, at, reason)
    except orders.StatusChanged:
        return False
    logger.info("order cancelled", extra={"order_id": order.order_id, "reason": reason})
    return True


def cancel_for(order: orders.Order, at: datetime, reason: str) -> bool:
    """(issue 10) Cancel a pending order for its campaign (a failed group), as the timeout would."""
    return _cancel(order, at, reason)


def cancel_order(caller: Caller, order_id: str) -> OrderOut:
    """The shopper cancels while pending; cancelling a cancelled order again answers the same."""
    order = load(order_id)
    if order.member_id != caller.member_id:
        raise Forbidden("only the shopper who placed the order may cancel it")
    if order.status == orders.PENDING_PAYMENT:
        _cancel(order, now(), REASON_SHOPPER)
        order = load(order_id)
    if order.status != orders.CANCELLED:
        raise Conflict(f"the order is {order.status}, not pending payment", code="ORDER_NOT_PENDING")
    return order_out(order, caller)


def expire_order(order_id: str) -> dict[str, str]:
    """The payment flow's task after the timeout: cancel if still unpaid. Safe to run any number of times."""
    order = orders.get_order(order_id)
    if order is None:
        return {"order_id": order_id, "outcome": "not_found"}
    if order.status == orders.PENDING_PAYMENT and _cancel(order, now(), REASON_TIMEOUT):
        return {"order_id": order_id, "outcome": "cancelled"}
    current = orders.get_order(order_id)
    return {"order_id": order_id, "outcome": f"already_{current.status if current else 'gone'}"}


# --- pickup and refunds -------------------------------------------------------------------------------


def pickup_order(caller: Caller, order_id: str, pickup_code: str) -> OrderOut:
    order = load(order_id)
    if not (caller.is_admin or caller.is_staff_of(order.store_id)):
        raise Forbidden("staff of this store required")
    if order.status != orders.PAID:
        raise Conflict(f"the order is {order.status}, not paid", code="ORDER_NOT_PAID")
    if order.campaign_kind == "group_buy":  # (issue 10) ready for pickup once its group has formed
        group_orders.require_formed(order)
    if not hmac.compare_digest((order.pickup_code or "").encode(), pickup_code.encode()):
        raise Conflict("the pickup code does not match this order", code="PICKUP_CODE_MISMATCH")
    try:
        order_transitions.complete_pickup(order, now(), caller.member_id)
    except orders.StatusChanged:
        raise Conflict("the order changed meanwhile; read it again", code="ORDER_NOT_PAID") from None
    return order_out(load(order_id), caller)


def refund_order(settings: Settings, caller: Caller, order_id: str, reason: str) -> OrderOut:
    """A manager of its store (or an admin) refunds a paid or picked-up order in full, at most once.

    → refund_pending at once; WeChat's refund notification makes it refunded and moves the points. Asking again
    while pending re-sends the same refund (one out_refund_no, so WeChat refunds once) and answers the same.
    """
    order = load(order_id)
    if not (caller.is_admin or caller.is_manager_of(order.store_id)):
        raise Forbidden("manager of this store required")
    payments.require_configured(settings)
    if order.campaign_kind == "group_buy" and order.status == orders.PAID:  # (issue 10) not while forming
        group_orders.require_settled(order)
    if order.status in (orders.PAID, orders.COMPLETED):
        try:
            order_transitions.request_refund(order, now(), reason, caller.member_id)
        except orders.StatusChanged:
            pass
        order = load(order_id)
    if order.status == orders.REFUNDED or (order.status == orders.REFUND_PENDING and order.auto_refund):
        raise Conflict("this order has already been refunded", code="ALREADY_REFUNDED")
    if order.status != orders.REFUND_PENDING:
        raise Conflict(f"the order is {order.status}; only paid orders can be refunded", code="ORDER_NOT_REFUNDABLE")
    if not order.refund_id:
        _send_refund(settings, order)
    return order_out(order, caller)


def send_refund(settings: Settings, order: orders.Order) -> None:
    """(issue 10) Ask WeChat for a refund_pending order's refund (one out_refund_no: WeChat refunds once)."""
    _send_refund(settings, order)


def _send_refund(settings: Settings, order: orders.Order) -> None:
    refund_id = payments.send_refund(settings, order.order_id, order.out_refund_no, int(order.payable_fen),
                                     order.refund_reason or "refund")
    if refund_id:
        orders.record_refund_accepted(order, refund_id)
