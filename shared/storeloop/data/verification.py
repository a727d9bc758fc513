"""Verifications: a coupon's redemption record (at a till, by POS, or online), redeeming and reversing one.

Keys (docs/data-model.md): `VERIFICATION#<id>` / `VERIFICATION`; GSI1 `STORE#<store>#VERIFICATIONS` and GSI2
`CAMPAIGN#<campaign>#VERIFICATIONS`, both `<verified_at>#<id>` (a store's day, a campaign's report).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import members
from storeloop.data.coupons import TRANSACTION_CONFLICT, Coupon, coupon_pk, raise_if_throttled
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.domain.clock import to_rfc3339


def verification_pk(verification_id: str) -> str:
    return f"VERIFICATION#{verification_id}"


class Verification(Entity):
    verification_id = UnicodeAttribute()
    coupon_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    staff_member_id = UnicodeAttribute(null=True)  # None when a POS sale redeemed it
    channel = UnicodeAttribute()
    spend_fen = NumberAttribute(null=True)
    discount_fen = NumberAttribute()
    verified_at = UnicodeAttribute()
    reversed_at = UnicodeAttribute(null=True)
    reversed_by = UnicodeAttribute(null=True)


def new_verification(verification_id: str, coupon: Coupon, store_id: str, staff_member_id: str | None, channel: str,
                     spend_fen: int | None, discount_fen: int, when: str) -> Verification:
    """A redemption's record, listed by store (GSI1) and by campaign (GSI2): at a till, by POS, or online."""
    return Verification(
        verification_pk(verification_id), "VERIFICATION", verification_id=verification_id,
        coupon_id=coupon.coupon_id, member_id=coupon.member_id, template_id=coupon.template_id,
        campaign_id=coupon.campaign_id, store_id=store_id, staff_member_id=staff_member_id, channel=channel,
        spend_fen=spend_fen, discount_fen=discount_fen, verified_at=when,
        GSI1PK=f"STORE#{store_id}#VERIFICATIONS", GSI1SK=f"{when}#{verification_id}",
        GSI2PK=f"CAMPAIGN#{coupon.campaign_id}#VERIFICATIONS", GSI2SK=f"{when}#{verification_id}")


@contextmanager
def _conflicts_raised() -> Iterator[None]:
    """A transaction cancelled by a condition becomes RedeemConflict (the caller re-reads to say why); throttling
    and any other error go on as they are."""
    try:
        yield
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if not any(codes):
            raise_if_throttled(exc)
            raise
        raise RedeemConflict(codes) from None


class RedeemConflict(Exception):
    """The redemption (or reversal) transaction did not apply; `codes` are DynamoDB's reasons, item by item."""

    def __init__(self, codes: list[str | None]) -> None:
        super().__init__(", ".join(str(c) for c in codes))
        self.codes = codes

    @property
    def conflicted(self) -> bool:
        """Another request held an item at that instant (TransactionConflict): the same attempt may succeed."""
        return TRANSACTION_CONFLICT in self.codes


class NotRedeemed(Exception):
    """The coupon is still active, yet its redemption did not apply: a condition of the caller's own item
    (`tx_extra`, e.g. the POS sale's note) failed, or conflicts outlasted the retries; nothing changed."""


Extra = Callable[[TransactWrite], None]  # the caller's own actions in a redemption's transaction (`tx_extra`)


def redeem(coupon: Coupon, store_id: str, staff_member_id: str | None, channel: str, spend_fen: int | None,
           discount: int, at: datetime, *, tx_extra: Extra | None = None,
           start_membership: bool = True) -> Verification:
    """active → redeemed, the verification record and the start of membership, in one transaction.

    RedeemConflict when it did not apply (the caller re-reads the coupon to say why). `tx_extra` adds the
    caller's own actions to the same transaction.
    """
    when = to_rfc3339(at)
    verification_id = "v_" + uuid.uuid4().hex[:20]
    verification = new_verification(verification_id, coupon, store_id, staff_member_id, channel, spend_fen,
                                    discount, when)
    with _conflicts_raised(), TransactWrite(connection=connection()) as tx:
        tx.update(Coupon(coupon_pk(coupon.coupon_id), "COUPON"),
                  actions=[Coupon.status.set("redeemed"), Coupon.redeemed_at.set(when),
                           Coupon.redeemed_store_id.set(store_id), Coupon.verification_id.set(verification_id)],
                  condition=Coupon.status == "active")
        tx.save(verification, condition=Verification.PK.does_not_exist())
        if start_membership:
            members.start_membership(tx, coupon.member_id, when, store_id, coupon.campaign_id,
                                     source=coupon.source_key())
        if tx_extra is not None:
            tx_extra(tx)
    return verification


def get_verification(verification_id: str, *, consistent: bool = False) -> Verification | None:
    try:
        return Verification.get(verification_pk(verification_id), "VERIFICATION", consistent_read=consistent)
    except DoesNotExist:
        return None


def reverse(verification: Verification, by: str, at: datetime) -> None:
    """Mark the verification reversed and the coupon active again, once: RedeemConflict if it did not apply."""
    when = to_rfc3339(at)
    with _conflicts_raised(), TransactWrite(connection=connection()) as tx:
        tx.update(Verification(verification_pk(verification.verification_id), "VERIFICATION"),
                  actions=[Verification.reversed_at.set(when), Verification.reversed_by.set(by)],
                  condition=Verification.reversed_at.does_not_exist())
        tx.update(Coupon(coupon_pk(verification.coupon_id), "COUPON"),
                  actions=[Coupon.status.set("active"), Coupon.redeemed_at.remove(),
                           Coupon.redeemed_store_id.remove(), Coupon.verification_id.remove()],
                  condition=(Coupon.status == "redeemed")
                  & (Coupon.verification_id == verification.verification_id))
