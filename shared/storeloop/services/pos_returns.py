"""Returns at the till: POST /webhooks/pos/{store_id}/returns, signed as sales are (services/pos.py).

A return takes back the points its share of the sale earned (never below a zero balance, as online refunds: the
rest is the ledger entry's shortfall), lowers the member's lifetime spend, and — when it completes the sale's
return — gives back each coupon the sale redeemed whose template says `return_on_refund` and that is still valid.
All in one transaction (data/pos_returns.py); analytics counts it as a refund of the sale (domain/analytics_events.py).
The same return_id again answers the same; another body under it is refused (409 IDEMPOTENCY_KEY_REUSED).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping

from aws_lambda_powertools import Logger

from storeloop import tokens
from storeloop.data import coupons, points, pos_returns
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339
from storeloop.domain.coupons import looks_like_coupon_code
from storeloop.domain.points import clawback
from storeloop.domain.till import ReturnExceedsSale, plan_return
from storeloop.errors import Conflict, NotFound
from storeloop.schemas.webhooks import PosReturnOut, PosReturnRequest
from storeloop.services import pos
from storeloop.services.coupons import QR_TOKEN_TYPE
from storeloop.services.pos_stock import body_hash, parse
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

ATTEMPTS = 8  # optimistic: the balance or the sale's tally moved (an online order, another return) → read again
QR_LEEWAY_SECONDS = 366 * 86_400  # a QR token only names its coupon here: its 60 s validity was checked at the sale


def _replay(found: pos_returns.PosReturn, digest: str) -> PosReturnOut:
    if found.body_hash != digest:
        raise Conflict("this return_id was sent with another body", code="IDEMPOTENCY_KEY_REUSED")
    return PosReturnOut(**json.loads(found.answer))


def _coupon_id(settings: Settings, code: str) -> str | None:
    if looks_like_coupon_code(code):
        return coupons.coupon_id_for_code(code)
    try:
        return str(tokens.read(settings.token_signing_key, QR_TOKEN_TYPE, code, leeway=QR_LEEWAY_SECONDS)["sub"])
    except tokens.TokenInvalid:
        return None


def coupons_to_return(settings: Settings, sale: points.PosSale, store_id: str) -> list[pos_returns.CouponBack]:
    """The sale's coupons that come back: still redeemed (here), their template says so, and still valid."""
    now = clock.now()
    found: list[pos_returns.CouponBack] = []
    for code in sale.coupons_redeemed or []:
        coupon_id = _coupon_id(settings, str(code))
        coupon = coupons.get_coupon(coupon_id, consistent=True) if coupon_id else None
        if coupon is None or coupon.status != "redeemed" or coupon.redeemed_store_id != store_id \
                or not coupon.verification_id:
            continue
        template = coupons.cached_template(coupon.template_id)
        if template is None or not getattr(template, "return_on_refund", False):
            continue
        if now >= parse_rfc3339(coupon.valid_until):
            continue  # expired meanwhile: nothing to give back
        found.append(pos_returns.CouponBack(coupon.coupon_id, coupon.verification_id))
    return found


def record_return(settings: Settings, store_id: str, headers: Mapping[str, str], raw_body: bytes) -> PosReturnOut:
    pos.verify(settings, store_id, headers, raw_body)  # 404 unknown store, 401 unsigned / bad / stale
    body = parse(PosReturnRequest, raw_body, "return")
    digest = body_hash(body)
    items: dict[str, int] = {}
    for line in body.items:
        items[line.sku] = items.get(line.sku, 0) + line.qty
    for attempt in range(ATTEMPTS):
        found = pos_returns.get_return(store_id, body.return_id)
        if found is not None:
            return _replay(found, digest)
        sale = points.get_pos_sale(store_id, body.sale_id)
        if sale is None:
            raise NotFound(f"sale {body.sale_id} not found at store {store_id}", code="SALE_NOT_FOUND")
        if sale.status != "done":
            raise Conflict("the sale is still being recorded; retry", code="IDEMPOTENCY_IN_PROGRESS",
                           headers={"Retry-After": "1"})
        sold: dict[str, int] | None = None
        if sale.items_json:
            sold = {}
            for line in json.loads(sale.items_json):
                sold[line["sku"]] = sold.get(line["sku"], 0) + int(line["qty"])
        try:
            plan = plan_return(sale_total_fen=int(sale.total_fen), sale_points=int(sale.points_earned or 0),
                               sold=sold, returned_fen=int(sale.returned_fen or 0),
                               returned_qty=json.loads(sale.returned_json or "{}"),
                               points_due_before=int(sale.points_due_back or 0), total_fen=body.total_fen,
                               items=items, points_per_yuan=settings.points_per_yuan)
        except ReturnExceedsSale as exc:
            raise Conflict(str(exc), code="RETURN_EXCEEDS_SALE") from None
        balance = points.balance(sale.member_id) if sale.member_id else None
        taken, shortfall = clawback(balance, plan.points_due) if balance is not None else (0, 0)
        back = coupons_to_return(settings, sale, store_id) if plan.fully_returned else []
        answer = PosReturnOut(return_id=body.return_id, sale_id=body.sale_id, member_id=sale.member_id,
                              points_clawed_back=taken, points_shortfall=shortfall,
                              coupons_returned=[c.coupon_id for c in back])
        write = pos_returns.ReturnWrite(store_id=store_id, return_id=body.return_id, sale=sale,
                                        total_fen=body.total_fen, items=items, occurred_at=body.occurred_at,
                                        body_hash=digest, returned_fen=plan.returned_fen,
                                        returned_qty=plan.returned_qty, points_due_total=plan.points_due_total,
                                        balance=balance, taken=taken, shortfall=shortfall, coupons=back,
                                        answer=answer.model_dump(mode="json"))
        try:
            pos_returns.write_return(write, clock.now())
        except pos_returns.ReturnConflict:
            time.sleep(random.uniform(0, 0.005 * 2 ** attempt))  # noqa: S311 - jitter, not a secret
            continue
        logger.info("pos return recorded", extra={"store_id": store_id, "return_id": body.return_id,
                                                  "points": taken, "coupons": len(back)})
        return answer
    raise Conflict("the sale or the member's points kept changing; retry", code="IDEMPOTENCY_IN_PROGRESS",
                   headers={"Retry-After": "1"})
