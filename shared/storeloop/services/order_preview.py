"""Issue 9, POST /orders/preview: what a cart costs with each coupon the shopper holds, ranked; nothing reserved."""

from __future__ import annotations

from storeloop.caller import Caller
from storeloop.data import coupons, orders
from storeloop.domain.clock import now, to_rfc3339
from storeloop.domain.coupons import applicable_spend, check_redeemable
from storeloop.domain.errors import DomainError
from storeloop.domain.orders import price_order
from storeloop.errors import Forbidden, RateLimited
from storeloop.schemas.orders import CreateOrderRequest, PreviewCouponOut, PreviewOut
from storeloop.services.orders import ONLINE, CouponNotFound, _unknown_lines

MAX_COUPONS = 500  # a shopper's active coupons priced (5 pages of 100)


def _held(member_id: str, at: str) -> list[coupons.Coupon]:
    found: list[coupons.Coupon] = []
    start = None
    while len(found) < MAX_COUPONS:
        page, start = coupons.member_coupons(member_id, "active", at, 100, start)
        found += page
        if start is None:
            break
    return found


def _price(coupon: coupons.Coupon, store_id: str, lines: list[tuple[str, int, int]], total: int,
           at: object) -> PreviewCouponOut:
    """One coupon against the cart: its discount, or why it does not apply (the code order creation would answer)."""
    try:
        rule = coupons.coupon_rule(coupon)
        valid_from, valid_until = coupons.coupon_window(coupon)
        scoped = bool(rule.skus)
        check_redeemable(rule, coupon.status, valid_from, valid_until, store_id, ONLINE,
                         None if scoped else total, at)  # type: ignore[arg-type]
        base = applicable_spend(rule, lines, None) if scoped else None
        totals = price_order(lines, rule, 0, 0, coupon_base_fen=base)
    except DomainError as exc:
        return PreviewCouponOut(coupon_id=coupon.coupon_id, discount_fen=0, applicable=False, reason=exc.code)
    return PreviewCouponOut(coupon_id=coupon.coupon_id, discount_fen=totals.discount_fen, applicable=True)


def preview_order(caller: Caller, body: CreateOrderRequest) -> PreviewOut:
    at = now()
    skus = [item.sku for item in body.items]
    try:
        profile, stock, _ = orders.read_for_order(caller.member_id, body.store_id, skus, None)
    except orders.Busy:
        raise RateLimited("too many requests at once, retry", headers={"Retry-After": "1"}) from None
    _unknown_lines(body, stock)  # type: ignore[arg-type]
    if profile is None:
        raise Forbidden("this member can no longer order")
    lines = [(item.sku, item.qty, int(stock[item.sku].price_fen)) for item in body.items]
    total = sum(qty * price for _, qty, price in lines)
    held = _held(caller.member_id, to_rfc3339(at))
    priced = [_price(c, body.store_id, lines, total, at) for c in held]
    # Applicable first, the largest discount first; ties by coupon id so the order is stable.
    priced.sort(key=lambda p: (not p.applicable, -p.discount_fen, p.coupon_id))
    best = next((p.coupon_id for p in priced if p.applicable and p.discount_fen > 0), None)
    chosen = body.coupon_id or best
    if body.coupon_id and body.coupon_id not in {c.coupon_id for c in held}:
        raise CouponNotFound(f"coupon {body.coupon_id} not found")
    rule, base = None, None
    if chosen:
        coupon = next(c for c in held if c.coupon_id == chosen)
        entry = next(p for p in priced if p.coupon_id == chosen)
        if entry.applicable:
            rule = coupons.coupon_rule(coupon)
            base = applicable_spend(rule, lines, None) if rule.skus else None
    totals = price_order(lines, rule, body.points, int(profile.points), coupon_base_fen=base)
    return PreviewOut(total_fen=totals.total_fen, discount_fen=totals.discount_fen, points_used=totals.points_used,
                      payable_fen=totals.payable_fen, best_coupon_id=best, coupons=priced)
