"""The coupon's part in an order's transitions: locked when placed, released when cancelled, redeemed when paid, given
back at a refund; each a step the order's own transaction carries (data/order_transitions.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from storeloop.data.coupons import Coupon, coupon_pk
from storeloop.data.transactions import LabelledTx, Step
from storeloop.data.verification import Verification, new_verification, verification_pk
from storeloop.domain.clock import to_rfc3339


def lock_step(coupon_id: str, member_id: str, order_id: str) -> Step:
    """active → locked by the order, if the member's."""

    def step(tx: LabelledTx) -> None:
        tx.update(Coupon(coupon_pk(coupon_id), "COUPON"),
                  [Coupon.status.set("locked"), Coupon.locked_by_order.set(order_id)],
                  (Coupon.status == "active") & (Coupon.member_id == member_id), "coupon")
    return step


def release_step(coupon_id: str, order_id: str) -> Step:
    """locked by the order → active."""

    def step(tx: LabelledTx) -> None:
        tx.update(Coupon(coupon_pk(coupon_id), "COUPON"),
                  [Coupon.status.set("active"), Coupon.locked_by_order.remove()],
                  (Coupon.status == "locked") & (Coupon.locked_by_order == order_id), "coupon")
    return step


def redeem_step(held: Coupon, order_id: str, store_id: str, channel: str, spend_fen: int, discount_fen: int,
                at: datetime) -> Step:
    """locked by the order → redeemed, with the verification record a till's redemption writes too (analytics count
    both)."""
    when = to_rfc3339(at)
    verification_id = "v_" + uuid.uuid4().hex[:20]
    record = new_verification(verification_id, held, store_id, None, channel, spend_fen, discount_fen, when)

    def step(tx: LabelledTx) -> None:
        tx.update(Coupon(coupon_pk(held.coupon_id), "COUPON"),
                  [Coupon.status.set("redeemed"), Coupon.redeemed_at.set(when),
                   Coupon.redeemed_store_id.set(store_id), Coupon.verification_id.set(verification_id),
                   Coupon.locked_by_order.remove()],
                  (Coupon.status == "locked") & (Coupon.locked_by_order == order_id), "coupon")
        tx.save(record, Verification.PK.does_not_exist(), "verification")
    return step


def return_step(held: Coupon, verification_id: str, at: datetime) -> Step:
    """Issue 9, return_on_refund: redeemed by `verification_id` → active again, and that redemption marked reversed
    (so the standing redemptions the roll-up counts agree)."""
    when = to_rfc3339(at)

    def step(tx: LabelledTx) -> None:
        tx.update(Coupon(coupon_pk(held.coupon_id), "COUPON"),
                  [Coupon.status.set("active"), Coupon.redeemed_at.remove(),
                   Coupon.redeemed_store_id.remove(), Coupon.verification_id.remove()],
                  (Coupon.status == "redeemed") & (Coupon.verification_id == verification_id), "coupon")
        tx.update(Verification(verification_pk(verification_id), "VERIFICATION"),
                  [Verification.reversed_at.set(when), Verification.reversed_by.set("refund")],
                  Verification.reversed_at.does_not_exist(), "coupon")
    return step
