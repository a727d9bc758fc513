"""Issue 9, exchange codes: HQ makes a batch for a template; a shopper exchanges one code for one coupon, once.
docs/exchange-codes.md has the design and the guessing math."""

from __future__ import annotations

import uuid

from storeloop import crypto
from storeloop.caller import Caller
from storeloop.data import coupon_claims, coupons, exchange_codes
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.errors import CodeAlreadyUsed
from storeloop.domain.exchange_codes import new_code, normalise
from storeloop.errors import Conflict, NotFound, RateLimited
from storeloop.schemas.coupons import CouponOut, is_id
from storeloop.schemas.exchange_codes import ExchangeBatchOut, ExchangeBatchRequest, ExchangeOut, ExchangeRequest
from storeloop.settings import get_settings

HASH_PURPOSE = "exchange_code"


class CodeNotFound(NotFound):
    code, message = "CODE_NOT_FOUND", "no exchange code is this"


def _hash(code: str) -> str:
    return crypto.keyed_hash(get_settings().data_key, code, HASH_PURPOSE)


def create_batch(caller: Caller, template_id: str, body: ExchangeBatchRequest) -> ExchangeBatchOut:
    template = coupons.get_template(template_id) if is_id(template_id) else None
    if template is None:
        raise NotFound(f"template {template_id} not found")
    codes = list(dict.fromkeys(new_code() for _ in range(body.count)))
    while len(codes) < body.count:  # a repeat in the batch (chance ~4e-17): draw again
        codes = list(dict.fromkeys([*codes, new_code()]))
    batch_id = "xb_" + uuid.uuid4().hex[:20]
    exchange_codes.create_batch(batch_id, template_id, [_hash(c) for c in codes], to_rfc3339(clock.now()),
                                caller.member_id)
    return ExchangeBatchOut(batch_id=batch_id, template_id=template_id, count=len(codes), codes=codes)


def exchange(caller: Caller, body: ExchangeRequest) -> ExchangeOut:
    """One coupon of the code's template for this shopper, the code marked used in the same transaction; stock,
    per-member and daily limits apply as for any claim. 404 CODE_NOT_FOUND, 409 CODE_ALREADY_USED.

    Failed guesses are limited per shopper (services/guesses.py, `exchange_code`: 10 unknown codes per 15 min,
    then 429 RATE_LIMITED with Retry-After), on top of the codes' 80 bits (docs/exchange-codes.md)."""
    from storeloop.services import guesses

    return guesses.guarded("exchange_code", caller.member_id, caller.member_id, lambda: _exchange(caller, body))


def _exchange(caller: Caller, body: ExchangeRequest) -> ExchangeOut:
    code = normalise(body.code)
    found = exchange_codes.get_code(_hash(code)) if code else None
    if found is None:
        raise CodeNotFound()  # counted as a failed guess by guesses.guarded
    if found.status != exchange_codes.UNUSED:
        raise CodeAlreadyUsed()
    template = coupons.cached_template(found.template_id)
    if template is None:
        raise CodeNotFound()
    now = clock.now()
    code_hash = _hash(str(code))
    try:
        coupon = coupon_claims.claim(template, found.batch_id, caller.member_id, now,
                                     extra=exchange_codes.mark_used(code_hash, caller.member_id, to_rfc3339(now)))
    except coupon_claims.ExtraRefused:
        raise CodeAlreadyUsed() from None
    except coupons.Throttled:
        raise RateLimited("too many claims right now, retry", headers={"Retry-After": "1"}) from None
    except coupon_claims.ClaimBusy:  # conflicts outlasted the claim's retries: the code says who won
        fresh = exchange_codes.get_code(code_hash)
        if fresh is not None and fresh.status != exchange_codes.UNUSED:
            raise CodeAlreadyUsed() from None
        raise Conflict("this code is being exchanged right now, retry", code="CODE_BUSY",
                       headers={"Retry-After": "1"}) from None
    return ExchangeOut(coupon=CouponOut(**coupon.public(now)))
