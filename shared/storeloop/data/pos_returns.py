"""Returns at the till: the return record and its one transaction (sale tally, points, ledger, coupons given back).

Keys (docs/data-model.md, "The till: stock and returns"):
- return `POSRETURN#<store_id>#<return_id>` / `RETURN`; GSI2 `STORE#<store_id>#RETURNS` / `<occurred_at>#<return_id>`
         (a store's returns by time). The sale it returns (`POSSALE#…` / `SALE`, data/points.py) keeps the
         running `returned_fen`, `returned_json` (units per sku) and `points_due_back`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import points as ledger
from storeloop.data.coupons import Coupon, coupon_pk
from storeloop.data.models import Entity, connection
from storeloop.data.verification import Verification, verification_pk
from storeloop.domain.clock import to_rfc3339

POS_RETURN_CLAWBACK = "pos_return_clawback"  # ledger reason: the points a till return took back


class PosReturn(Entity):
    store_id = UnicodeAttribute()
    return_id = UnicodeAttribute()
    sale_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    total_fen = NumberAttribute()
    items_json = UnicodeAttribute()
    points_clawed_back = NumberAttribute()
    points_shortfall = NumberAttribute()
    coupons_returned = ListAttribute(of=UnicodeAttribute)  # coupon ids
    coupon_codes = ListAttribute(of=UnicodeAttribute, null=True)  # the sale's codes (analytics: campaigns)
    occurred_at = UnicodeAttribute()
    received_at = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    answer = UnicodeAttribute()


def return_key(store_id: str, return_id: str) -> tuple[str, str]:
    return f"POSRETURN#{store_id}#{return_id}", "RETURN"


def get_return(store_id: str, return_id: str) -> PosReturn | None:
    try:
        return PosReturn.get(*return_key(store_id, return_id), consistent_read=True)
    except DoesNotExist:
        return None


@dataclass(frozen=True)
class CouponBack:
    coupon_id: str
    verification_id: str


@dataclass
class ReturnWrite:
    store_id: str
    return_id: str
    sale: ledger.PosSale
    total_fen: int
    items: dict[str, int]
    occurred_at: str
    body_hash: str
    returned_fen: int  # the sale's, after
    returned_qty: dict[str, int]
    points_due_total: int
    balance: int | None  # read just before; None: no member, or the member is gone
    taken: int
    shortfall: int
    coupons: list[CouponBack] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)


class ReturnConflict(Exception):
    """The transaction did not apply: the return exists now, or the sale, the balance or a coupon moved."""


def write_return(w: ReturnWrite, at: datetime) -> None:
    """All of the return or none of it: the return record (once per return_id), the sale's tally (conditional on
    the tally read), the balance (conditional on the balance read: never negative, ledger and balance together),
    the ledger entry, and each coupon given back with its verification marked reversed."""
    sale = w.sale
    member_id = sale.member_id
    item = PosReturn(*return_key(w.store_id, w.return_id), GSI2PK=f"STORE#{w.store_id}#RETURNS",
                     GSI2SK=f"{w.occurred_at}#{w.return_id}", store_id=w.store_id, return_id=w.return_id,
                     sale_id=sale.sale_id, member_id=member_id, total_fen=w.total_fen,
                     items_json=json.dumps(w.items, sort_keys=True), points_clawed_back=w.taken,
                     points_shortfall=w.shortfall, coupons_returned=[c.coupon_id for c in w.coupons],
                     coupon_codes=[str(c) for c in sale.coupons_redeemed or []], occurred_at=w.occurred_at,
                     received_at=to_rfc3339(at), body_hash=w.body_hash,
                     answer=json.dumps(w.answer, separators=(",", ":")))
    before = None if sale.returned_fen is None else int(sale.returned_fen)
    tally = (ledger.PosSale.returned_fen.does_not_exist() if before is None
             else ledger.PosSale.returned_fen == before)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=PosReturn.PK.does_not_exist())
            tx.update(ledger.PosSale(sale.PK, sale.SK), actions=[
                ledger.PosSale.returned_fen.set(w.returned_fen),
                ledger.PosSale.returned_json.set(json.dumps(w.returned_qty, sort_keys=True)),
                ledger.PosSale.points_due_back.set(w.points_due_total)],
                condition=tally & (ledger.PosSale.status == "done"))
            if member_id and w.balance is not None:
                ledger.set_balance(tx, member_id, w.balance, w.balance - w.taken, -w.total_fen)
                if w.taken or w.shortfall:
                    entry = ledger.ledger_entry(member_id, -w.taken, POS_RETURN_CLAWBACK,
                                                at + timedelta(microseconds=1), sale_id=sale.sale_id,
                                                store_id=w.store_id, shortfall=w.shortfall)
                    tx.save(entry, condition=ledger.PointsLedgerEntry.SK.does_not_exist())
            when = to_rfc3339(at)
            for back in w.coupons:
                tx.update(Coupon(coupon_pk(back.coupon_id), "COUPON"),
                          actions=[Coupon.status.set("active"), Coupon.redeemed_at.remove(),
                                   Coupon.redeemed_store_id.remove(), Coupon.verification_id.remove()],
                          condition=(Coupon.status == "redeemed") & (Coupon.verification_id == back.verification_id))
                tx.update(Verification(verification_pk(back.verification_id), "VERIFICATION"),
                          actions=[Verification.reversed_at.set(when),
                                   Verification.reversed_by.set(f"pos_return:{w.return_id}")],
                          condition=Verification.reversed_at.does_not_exist())
    except TransactWriteError as exc:
        raise ReturnConflict(str(exc)) from None
