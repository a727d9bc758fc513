"""The POS sale webhook: a store's till reports a sale; the member earns points and the coupons used are redeemed.

Authenticity: hex HMAC-SHA256 with the store's secret over "<timestamp>.<raw body>", compared in constant time,
the timestamp within ±300 s. Replays: the sale_id is claimed once per store; a finished sale answers what it
answered the first time and changes nothing, a sale being processed answers 409 IDEMPOTENCY_IN_PROGRESS.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from functools import partial

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from storeloop.data import points, stores, verification
from storeloop.domain.errors import DomainError
from storeloop.domain.points import points_earned
from storeloop.errors import ApiError, Conflict, NotFound, Unauthenticated, ValidationFailed
from storeloop.schemas.members import PosSaleOut, PosSaleRequest
from storeloop.services import guesses, members
from storeloop.services.stores import pos_secret
from storeloop.services.verification import redeem_coupon
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

TIMESTAMP_HEADER = "x-storeloop-timestamp"
SIGNATURE_HEADER = "x-storeloop-signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    """What a till sends as X-StoreLoop-Signature (also used by tests and the README's example)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()


def verify(settings: Settings, store_id: str, headers: Mapping[str, str], raw_body: bytes,
           now: float | None = None) -> None:
    """404 for a store that does not exist; 401 for no secret, a bad signature or a timestamp off by > 300 s."""
    secret = pos_secret(settings, store_id)
    if secret is None:
        if stores.get_store(store_id) is None:
            raise NotFound(f"store {store_id} not found")
        raise Unauthenticated("this store has no POS secret yet")
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    timestamp, given = lowered.get(TIMESTAMP_HEADER, ""), lowered.get(SIGNATURE_HEADER, "")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:  # "²".isdigit() is True
        raise Unauthenticated("X-StoreLoop-Timestamp must be unix seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        raise Unauthenticated("X-StoreLoop-Timestamp is more than 300 s off")
    if not hmac.compare_digest(signature(secret, timestamp, raw_body).encode(), given.strip().lower().encode()):
        raise Unauthenticated("X-StoreLoop-Signature does not match")


def _parse(raw_body: bytes) -> PosSaleRequest:
    try:
        return PosSaleRequest.model_validate_json(raw_body or b"{}")
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e.get("loc", ())) or "body", "issue": e.get("type", "invalid"),
                    "message": e.get("msg", "")} for e in exc.errors()]
        raise ValidationFailed("sale is not valid", details=details) from None


def _in_progress() -> Conflict:
    return Conflict("this sale is being recorded; retry", code="IDEMPOTENCY_IN_PROGRESS", headers={"Retry-After": "1"})


def record_sale(settings: Settings, store_id: str, headers: Mapping[str, str], raw_body: bytes) -> PosSaleOut:
    verify(settings, store_id, headers, raw_body)
    sale = _parse(raw_body)
    done = points.get_pos_sale(store_id, sale.sale_id)
    if done is not None and done.status == "done" and done.answer:
        return PosSaleOut(**json.loads(done.answer))  # a replay: the first answer, nothing changed
    member_id: str | None = None
    if sale.member_code:
        code = sale.member_code
        # Member codes that do not verify are limited per store (429 RATE_LIMITED), as every guessable code is.
        member_id = guesses.guarded("member_code", store_id, store_id,
                                    lambda: members.member_of_code(settings, code, TOLERANCE_SECONDS))

    token = uuid.uuid4().hex
    try:
        claimed = points.claim_pos_sale(store_id, sale.sale_id, member_id, sale.total_fen, sale.occurred_at,
                                             token, items_json=json.dumps([i.model_dump() for i in sale.items]))
    except points.SaleBusy:
        raise _in_progress() from None
    if claimed.status == "done" and claimed.answer:
        return PosSaleOut(**json.loads(claimed.answer))

    redeemed = [str(c) for c in claimed.coupons_redeemed or []]  # a run that died may have redeemed some already
    rejected: list[dict[str, str]] = []
    sources: dict[str, dict] = {}  # issue 9: the sale carries the source of each coupon it redeemed
    for code in sale.coupon_codes:
        if code in redeemed:
            continue
        try:
            # The till's wrong codes count against the store's coupon-code limits as a clerk's do.
            result = guesses.guarded("coupon_code", f"pos-{store_id}", store_id, partial(
                redeem_coupon, code, store_id, sale.total_fen, None, "store",
                tx_extra=points.note_redeemed(store_id, sale.sale_id, code, token),
                lines=[(i.sku, i.qty, i.price_fen) for i in sale.items]))  # issue 9: sku scope
        except (DomainError, ApiError) as exc:
            # The sale happened whatever we think of the coupon: record it, and tell the till which were refused.
            rejected.append({"code": code, "error": exc.code})
            continue
        except verification.NotRedeemed:  # our claim was taken over (note_redeemed): the other run finishes
            raise _in_progress() from None
        redeemed.append(code)
        sources[code] = result["coupon"]["source"]

    earned = points_earned(sale.total_fen, settings.points_per_yuan) if claimed.member_id else 0
    answer = PosSaleOut(member_id=claimed.member_id, points_earned=earned, coupons_redeemed=redeemed,
                        coupons_rejected=rejected, coupon_sources=sources)
    try:
        points.finish_pos_sale(claimed, token, earned, answer.model_dump(mode="json"))
    except points.SaleBusy:
        raise _in_progress() from None
    logger.info("pos sale recorded", extra={"store_id": store_id, "sale_id": sale.sale_id,
                                            "points": earned, "coupons": len(redeemed)})
    return answer
