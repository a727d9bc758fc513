"""Verification at the store: redeem a coupon by its 12-digit code or QR token, and reverse a mistaken one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storeloop import tokens
from storeloop.caller import Caller
from storeloop.data import coupons, stores, verification
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339
from storeloop.domain.coupons import applicable_spend, check_redeemable, discount_fen, looks_like_coupon_code
from storeloop.domain.errors import AlreadyReversed, MinSpendNotMet, QrExpired
from storeloop.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.coupons import CouponOut, ReversalOut, VerificationOut, VerifyRequest, is_id
from storeloop.services import guesses
from storeloop.services.coupons import QR_TOKEN_TYPE
from storeloop.settings import get_settings

REVERSAL_WINDOW = timedelta(hours=24)
# A TransactionConflict (another request on the same coupon at that instant) is retried this often.
MAX_CONFLICT_RETRIES = 3


class CouponNotFound(NotFound):
    code, message = "COUPON_NOT_FOUND", "no coupon has this code"


def redeem_coupon(code_or_qr: str, store_id: str, spend_fen: int | None, staff_member_id: str | None,
                  channel: str = "store", tx_extra: verification.Extra | None = None, *,
                  start_membership: bool = True, lines: list[tuple[str, int, int]] | None = None) -> dict[str, Any]:
    """Redeem a coupon at `store_id` with the same rules for every caller (till, scanner, POS webhook).

    `code_or_qr` is the 12-digit code or a QR token from `GET /me/coupons/{id}/qr`. Raises CouponNotFound (404),
    the domain's QrExpired, CouponAlreadyRedeemed, CouponExpired, CouponNotYetValid, CouponNotValidHere,
    MinSpendNotMet (409), or ValidationFailed when `spend_fen` is needed (percent_off, a minimum spend) but None.
    No authorization here: the caller has checked who may redeem at this store.

    One transaction: the coupon active → redeemed (condition status = active), the verification record, and the
    start of the shopper's membership (`joined_at` if absent). `tx_extra(tx)` adds the caller's own actions to
    that same transaction (e.g. the POS sale record); one transaction may touch an item only once, so a caller
    whose actions update the member's profile passes `start_membership=False` and starts membership itself.
    If a condition of the caller's items fails, verification.NotRedeemed (data/verification.py) is raised.

    Returns {"verification_id", "coupon": the API's Coupon (now redeemed), "discount_fen", "member_id",
    "store_id", "spend_fen", "verified_at"}.
    """
    coupon = _find(code_or_qr)
    bill = spend_fen
    if lines is not None and spend_fen is None:
        bill = spend_fen = sum(qty * price for _, qty, price in lines)
    for attempt in range(MAX_CONFLICT_RETRIES + 1):
        now = clock.now()
        rule = coupons.coupon_rule(coupon)
        valid_from, valid_until = coupons.coupon_window(coupon)
        # issue 9: a coupon scoped to skus applies to the spend on its lines, when the lines are given
        scoped = bool(rule.skus) and lines is not None
        check_redeemable(rule, coupon.status, valid_from, valid_until, store_id, channel,
                         None if scoped else bill, now)
        if scoped:
            spend_fen = applicable_spend(rule, lines, bill)
            if spend_fen is not None and spend_fen < rule.min_spend_fen:
                raise MinSpendNotMet(details={"min_spend_fen": rule.min_spend_fen, "spend_fen": spend_fen})
        money_off = rule.kind in ("cash_off", "percent_off")
        if spend_fen is None and (money_off or rule.min_spend_fen > 0):
            # Without the bill a cash_off coupon would record its whole face value as the discount.
            raise ValidationFailed("spend_fen is required for this coupon", details=[
                {"field": "spend_fen", "issue": "required",
                 "message": "required for a cash_off or percent_off coupon, or one with a minimum spend"}])
        if spend_fen == 0 and money_off:
            # Nothing to take money off: a 99 % coupon "redeemed" on an empty bill is a coupon burnt for nothing.
            raise ValidationFailed("spend_fen must be at least 1 for a money-off coupon", details=[
                {"field": "spend_fen", "issue": "greater_than_equal", "message": "at least 1 fen"}])
        discount = discount_fen(rule, spend_fen) if spend_fen is not None else 0  # a gift is an item, not money
        try:
            record = verification.redeem(coupon, store_id, staff_member_id, channel, bill, discount, now,
                                         tx_extra=tx_extra, start_membership=start_membership)
        except coupons.Throttled:
            raise RateLimited("too many requests, retry", headers={"Retry-After": "1"}) from None
        except verification.RedeemConflict as conflict:
            fresh = coupons.get_coupon(coupon.coupon_id, consistent=True)
            if fresh is None:
                raise CouponNotFound() from None
            if fresh.status != "active" or (conflict.conflicted and attempt < MAX_CONFLICT_RETRIES):
                coupon = fresh  # redeemed, locked or revoked meanwhile: the next check says which; or a retry
                continue
            raise verification.NotRedeemed() from None  # still active: a condition of the caller's items failed
        coupon.status, coupon.redeemed_at = "redeemed", record.verified_at
        coupon.redeemed_store_id, coupon.verification_id = store_id, record.verification_id
        return {"verification_id": record.verification_id, "coupon": coupon.public(now),
                "discount_fen": discount, "member_id": coupon.member_id, "store_id": store_id,
                "spend_fen": bill, "verified_at": record.verified_at}
    raise Conflict("the coupon is busy, retry", code="COUPON_BUSY")


def _find(code_or_qr: str) -> coupons.Coupon:
    if looks_like_coupon_code(code_or_qr):
        coupon_id = coupons.coupon_id_for_code(code_or_qr)
    else:
        try:
            coupon_id = tokens.read(get_settings().token_signing_key, QR_TOKEN_TYPE, code_or_qr)["sub"]
        except tokens.TokenExpired:
            raise QrExpired() from None  # signature checked first: only a genuine, stale QR gets here
        except tokens.TokenInvalid:
            raise CouponNotFound() from None  # forged, altered or not a QR at all
    coupon = coupons.get_coupon(coupon_id, consistent=True) if isinstance(coupon_id, str) and is_id(coupon_id) else None
    if coupon is None:
        raise CouponNotFound()
    return coupon


def verify_coupon(caller: Caller, body: VerifyRequest) -> VerificationOut:
    """POST /verifications, for staff of `body.store_id` (checked by the handler) and admins."""
    if not caller.is_staff_of(body.store_id) and stores.get_store(body.store_id) is None:
        raise NotFound(f"store {body.store_id} not found")  # an admin naming a store that does not exist
    # Codes that name no coupon are limited per staff member and per store (429 RATE_LIMITED).
    lines = [(i.sku, i.qty, i.price_fen) for i in body.items] if body.items is not None else None
    result = guesses.guarded("coupon_code", caller.member_id, body.store_id,
                             lambda: redeem_coupon(body.code, body.store_id, body.spend_fen, caller.member_id, "store",
                                                   lines=lines))
    return VerificationOut(verification_id=result["verification_id"], coupon=CouponOut(**result["coupon"]),
                           discount_fen=result["discount_fen"], store_id=body.store_id, spend_fen=result["spend_fen"],
                           verified_at=result["verified_at"])


def reverse_verification(caller: Caller, verification_id: str) -> ReversalOut:
    """Undo a verification: a manager of its store, within 24 h, once (409 ALREADY_REVERSED after)."""
    record = verification.get_verification(verification_id, consistent=True) if is_id(verification_id) else None
    if record is None:
        raise NotFound(f"verification {verification_id} not found")
    if not (caller.is_admin or caller.is_manager_of(record.store_id)):
        raise Forbidden("manager of this store required")
    if record.reversed_at:
        raise AlreadyReversed()
    now = clock.now()
    if now - parse_rfc3339(record.verified_at) > REVERSAL_WINDOW:
        raise Conflict("a verification can be reversed within 24 hours", code="REVERSAL_WINDOW_CLOSED")
    try:
        verification.reverse(record, caller.member_id, now)
    except coupons.Throttled:
        raise RateLimited("too many requests, retry", headers={"Retry-After": "1"}) from None
    except verification.RedeemConflict:
        fresh = verification.get_verification(verification_id, consistent=True)
        if fresh is not None and fresh.reversed_at:
            raise AlreadyReversed() from None
        raise Conflict("the coupon is no longer redeemed by this verification", code="COUPON_NOT_REDEEMED") from None
    coupon = coupons.get_coupon(record.coupon_id, consistent=True)
    if coupon is None:  # the transaction just updated it; only an erasure in between could remove it
        raise NotFound(f"coupon {record.coupon_id} not found")
    return ReversalOut(verification_id=verification_id, reversed_at=clock.to_rfc3339(now),
                       coupon=CouponOut(**coupon.public(now)))
