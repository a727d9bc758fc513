"""(issue 10) The points mall (积分兑换): rewards that cost points, and their redemptions.

Keys (docs/data-model.md, "Campaign kinds"):
- reward      `REWARD#<id>` / `REWARD`: `stock` left; GSI1 `REWARDS` / `<created_at>#<id>` (the mall, newest first)
- redemption  `REDEMPTION#<id>` / `REDEMPTION`; GSI1 `MEMBER#<member_id>#REDEMPTIONS` / `<created_at>#<id>`

A redemption is one transaction: the points taken (`points >= cost`: never negative) with their `reward_redeemed`
ledger entry, one unit of the reward's stock (`stock > 0`), the redemption, and what it gives: a gift's pickup
code on the redemption, or a coupon issued exactly as a claim issues one (coupon, unique code, one unit of the
template's stock shard `remaining > 0`, the member's holding `claimed < per_member_limit`).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors, members
from storeloop.data import points as ledger
from storeloop.data.coupons import (
    Coupon,
    CouponCode,
    CouponTemplate,
    MemberHolding,
    StockShard,
    code_pk,
    coupon_pk,
    member_coupons_partition,
    shard_pk,
)
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.coupons import generate_coupon_code, validity_window

REWARD_REDEEMED = "reward_redeemed"  # the ledger reason of a redemption (negative)
INDEX_PK = "REWARDS"
ISSUED, PICKED_UP = "issued", "picked_up"
ATTEMPTS = 5
_shuffle = random.Random()  # noqa: S311 - spreads load over shards; nothing secret depends on it


def reward_pk(reward_id: str) -> str:
    return f"REWARD#{reward_id}"


def redemption_pk(redemption_id: str) -> str:
    return f"REDEMPTION#{redemption_id}"


def member_redemptions_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}#REDEMPTIONS"


def reward_campaign_id(reward_id: str) -> str:
    """The `campaign_id` a reward's coupons carry (a coupon always names where it came from)."""
    return f"reward-{reward_id}"


class Reward(Entity):
    reward_id = UnicodeAttribute()
    name = UnicodeAttribute()
    points = NumberAttribute()
    kind = UnicodeAttribute()  # coupon | gift
    template_id = UnicodeAttribute(null=True)
    sku = UnicodeAttribute(null=True)
    total_stock = NumberAttribute()
    stock = NumberAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)


class Redemption(Entity):
    redemption_id = UnicodeAttribute()
    reward_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    points_spent = NumberAttribute()
    store_id = UnicodeAttribute(null=True)
    coupon_id = UnicodeAttribute(null=True)
    sku = UnicodeAttribute(null=True)
    pickup_code = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # issued | picked_up (a gift handed over)
    created_at = UnicodeAttribute()
    picked_up_at = UnicodeAttribute(null=True)
    picked_up_by = UnicodeAttribute(null=True)


class RedeemRefused(Exception):
    """The redemption's transaction was refused: `what` is points, stock, template_stock or claim_limit."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Busy(Exception):
    """Transaction conflicts outlasted the retries."""


def create_reward(reward_id: str, fields: dict[str, Any], at: datetime, by: str) -> Reward:
    stamp = to_rfc3339(at)
    reward = Reward(reward_pk(reward_id), "REWARD", GSI1PK=INDEX_PK, GSI1SK=f"{stamp}#{reward_id}",
                    reward_id=reward_id, total_stock=fields["stock"], created_at=stamp, created_by=by, **fields)
    reward.save(condition=Reward.PK.does_not_exist())
    return reward


def get_reward(reward_id: str, *, consistent: bool = False) -> Reward | None:
    try:
        return Reward.get(reward_pk(reward_id), "REWARD", consistent_read=consistent)
    except DoesNotExist:
        return None


def list_rewards(limit: int, cursor: str | None) -> tuple[list[Reward], str | None]:
    """A page of the rewards, newest first, after the client's `cursor`; the next page's cursor (None: the last)."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=INDEX_PK)
    query = Reward.gsi1.query(INDEX_PK, scan_index_forward=False, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)


def get_redemption(redemption_id: str) -> Redemption | None:
    try:
        return Redemption.get(redemption_pk(redemption_id), "REDEMPTION", consistent_read=True)
    except DoesNotExist:
        return None


def _coupon(template: CouponTemplate, reward_id: str, member_id: str, at: datetime) -> Coupon:
    """A coupon of `template` as a claim makes it (data/coupons.claim): terms copied, 12-digit code, validity."""
    coupon_id = "c_" + uuid.uuid4().hex[:20]
    valid_from, valid_until = validity_window(template.validity(), at)
    stamp = to_rfc3339(at)
    return Coupon(
        coupon_pk(coupon_id), "COUPON", coupon_id=coupon_id, member_id=member_id, template_id=template.template_id,
        campaign_id=reward_campaign_id(reward_id), code=generate_coupon_code(), status="active", kind=template.kind,
        amount_off_fen=template.amount_off_fen, percent_off=template.percent_off, max_off_fen=template.max_off_fen,
        gift_sku=template.gift_sku, min_spend_fen=template.min_spend_fen, valid_from=to_rfc3339(valid_from),
        valid_until=to_rfc3339(valid_until), store_ids=list(template.store_ids), channels=list(template.channels),
        claimed_at=stamp, GSI1PK=member_coupons_partition(member_id), GSI1SK=f"{stamp}#{coupon_id}")


def redeem(reward: Reward, member_id: str, store_id: str | None, at: datetime, template: CouponTemplate | None,
           pickup_code: str | None) -> tuple[Redemption, Coupon | None]:
    """Spend the points, take a unit, issue the coupon (of `template`) or the gift (`pickup_code`): one transaction
    per attempt. RedeemRefused names the refusing condition; a template shard found empty tries the next one."""
    cost = int(reward.points)
    shards = list(range(int(template.shards))) if template is not None else [0]
    _shuffle.shuffle(shards)
    conflicts = 0
    while shards:
        redemption_id = "rd_" + uuid.uuid4().hex[:20]
        stamp = to_rfc3339(at)
        coupon = _coupon(template, reward.reward_id, member_id, at) if template is not None else None
        redemption = Redemption(
            redemption_pk(redemption_id), "REDEMPTION", GSI1PK=member_redemptions_pk(member_id),
            GSI1SK=f"{stamp}#{redemption_id}", redemption_id=redemption_id, reward_id=reward.reward_id,
            member_id=member_id, kind=reward.kind, points_spent=cost, store_id=store_id,
            coupon_id=coupon.coupon_id if coupon else None, sku=reward.sku, pickup_code=pickup_code, status=ISSUED,
            created_at=stamp)
        puts = ["redemption", "ledger"]
        updates = ["points", "stock"]
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.save(redemption, condition=Redemption.PK.does_not_exist())
                ledger.add_entry(tx, ledger.ledger_entry(member_id, -cost, REWARD_REDEEMED, at, store_id=store_id))
                ledger.debit_profile(tx, member_id, cost)
                tx.update(Reward(reward.PK, reward.SK), actions=[Reward.stock.add(-1)], condition=Reward.stock > 0)
                if coupon is not None and template is not None:
                    tx.save(coupon, condition=Coupon.PK.does_not_exist())
                    tx.save(CouponCode(code_pk(coupon.code), "CODE", coupon_id=coupon.coupon_id),
                            condition=CouponCode.PK.does_not_exist())
                    puts += ["coupon", "code"]
                    tx.update(StockShard(shard_pk(template.template_id, shards[0]), "STOCK"),
                              actions=[StockShard.remaining.add(-1)], condition=StockShard.remaining > 0)
                    tx.update(MemberHolding(members.member_pk(member_id), f"HOLDING#{template.template_id}"),
                              actions=[MemberHolding.claimed.add(1), MemberHolding.member_id.set(member_id),
                                       MemberHolding.template_id.set(template.template_id)],
                              condition=MemberHolding.claimed.does_not_exist()
                              | (MemberHolding.claimed < int(template.per_member_limit)))
                    updates += ["template_stock", "claim_limit"]
            return redemption, coupon
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            failed = [label for label, code in zip(puts + updates, codes, strict=False)
                      if code == "ConditionalCheckFailed"]
            for what in ("stock", "claim_limit", "points"):  # sold out before too few points
                if what in failed:
                    raise RedeemRefused(what) from None
            if "template_stock" in failed:
                shards.pop(0)
                continue
            if not failed and "TransactionConflict" not in codes:
                raise
            conflicts += 1  # a coupon code collision or a conflicting transaction: again, with fresh ids
            if conflicts >= ATTEMPTS:
                raise Busy() from None
            shards.append(shards.pop(0))
    raise RedeemRefused("template_stock")


def hand_over(redemption: Redemption, at: datetime, staff_member_id: str) -> bool:
    """issued → picked_up, once; False if it had already been handed over."""
    try:
        Redemption(redemption.PK, redemption.SK).update(
            actions=[Redemption.status.set(PICKED_UP), Redemption.picked_up_at.set(to_rfc3339(at)),
                     Redemption.picked_up_by.set(staff_member_id)], condition=Redemption.status == ISSUED)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
