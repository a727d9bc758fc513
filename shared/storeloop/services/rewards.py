"""(issue 10) The points mall (积分兑换): rewards (admin), the mall (members), redeeming points for a reward, and a
gift handed over at its store by staff. data/rewards.py has the one transaction a redemption is."""

from __future__ import annotations

import hmac
import secrets
import uuid

from storeloop.caller import Caller
from storeloop.data import coupons, rewards, stores
from storeloop.domain.clock import now
from storeloop.domain.errors import ClaimLimitReached, InsufficientPoints, SoldOut
from storeloop.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.coupons import CouponOut, is_id
from storeloop.schemas.rewards import CreateRewardRequest, RedeemRequest, RedemptionOut, RewardList, RewardOut
from storeloop.services import campaign_kinds


def reward_out(reward: rewards.Reward) -> RewardOut:
    return RewardOut(reward_id=reward.reward_id, name=reward.name, points=int(reward.points), kind=reward.kind,
                     template_id=reward.template_id, sku=reward.sku, total_stock=int(reward.total_stock),
                     remaining=int(reward.stock), created_at=reward.created_at)


def redemption_out(redemption: rewards.Redemption, caller: Caller | None,
                   coupon: coupons.Coupon | None = None) -> RedemptionOut:
    mine = caller is not None and caller.member_id == redemption.member_id
    return RedemptionOut(
        redemption_id=redemption.redemption_id, reward_id=redemption.reward_id, kind=redemption.kind,
        points_spent=int(redemption.points_spent), store_id=redemption.store_id, status=redemption.status,
        coupon=CouponOut(**coupon.public(now())) if coupon is not None else None,
        pickup_code=redemption.pickup_code if mine and redemption.status == rewards.ISSUED else None,
        created_at=redemption.created_at, picked_up_at=redemption.picked_up_at)


def create_reward(caller: Caller, body: CreateRewardRequest) -> RewardOut:
    if body.kind == "coupon" and coupons.get_template(body.template_id or "") is None:
        raise ValidationFailed("unknown template", details=[{"field": "template_id", "issue": "unknown",
                                                             "message": body.template_id}])
    if body.kind == "gift":
        campaign_kinds.product_name(body.sku or "", [])
    reward = rewards.create_reward("rw_" + uuid.uuid4().hex[:20], body.model_dump(), now(), caller.member_id)
    return reward_out(reward)


def list_rewards(limit: int, cursor: str | None) -> RewardList:
    found, after = rewards.list_rewards(limit, cursor)
    return RewardList(items=[reward_out(r) for r in found], next=after)


def redeem(caller: Caller, reward_id: str, body: RedeemRequest) -> RedemptionOut:
    """Points for a reward: 409 INSUFFICIENT_POINTS, SOLD_OUT (the reward or its coupon template),
    CLAIM_LIMIT_REACHED (the template's per-member limit); a gift needs the store it is picked up at."""
    reward = rewards.get_reward(reward_id) if is_id(reward_id) else None
    if reward is None:
        raise NotFound(f"reward {reward_id} not found")
    if reward.kind == "gift" and body.store_id is None:
        raise ValidationFailed("a gift is picked up at a store", details=[
            {"field": "store_id", "issue": "required", "message": "the store the gift is picked up at"}])
    if body.store_id is not None and stores.get_store(body.store_id) is None:
        raise NotFound(f"store {body.store_id} not found")
    template = None
    if reward.kind == "coupon":
        template = coupons.cached_template(reward.template_id or "")
        if template is None:
            raise NotFound(f"the reward's coupon template {reward.template_id} is gone")
    code = f"{secrets.randbelow(10**6):06d}" if reward.kind == "gift" else None
    try:
        redemption, coupon = rewards.redeem(reward, caller.member_id, body.store_id, now(), template, code)
    except rewards.RedeemRefused as refused:
        if refused.what == "points":
            raise InsufficientPoints(details={"points": int(reward.points)}) from None
        if refused.what == "claim_limit":
            raise ClaimLimitReached() from None
        raise SoldOut() from None
    except rewards.Busy:
        raise RateLimited("too many redemptions at once, retry", headers={"Retry-After": "1"}) from None
    return redemption_out(redemption, caller, coupon)


def get_redemption(caller: Caller, redemption_id: str) -> RedemptionOut:
    redemption = _load(redemption_id)
    if not (caller.member_id == redemption.member_id or caller.is_admin
            or (redemption.store_id and caller.is_staff_of(redemption.store_id))):
        raise Forbidden("only the member, staff of its store or an admin may read this redemption")
    coupon = coupons.get_coupon(redemption.coupon_id) if redemption.coupon_id else None
    return redemption_out(redemption, caller, coupon)


def _load(redemption_id: str) -> rewards.Redemption:
    redemption = rewards.get_redemption(redemption_id) if is_id(redemption_id) else None
    if redemption is None:
        raise NotFound(f"redemption {redemption_id} not found")
    return redemption


def hand_over(caller: Caller, redemption_id: str, pickup_code: str) -> RedemptionOut:
    """Staff of the gift's store hand it over against its pickup code, once."""
    redemption = _load(redemption_id)
    if redemption.kind != "gift" or not redemption.store_id:
        raise Conflict("only a gift is handed over", code="NOT_A_GIFT")
    if not (caller.is_admin or caller.is_staff_of(redemption.store_id)):
        raise Forbidden("staff of this store required")
    if redemption.status != rewards.ISSUED:
        raise Conflict("the gift has already been handed over", code="ALREADY_PICKED_UP")
    if not hmac.compare_digest((redemption.pickup_code or "").encode(), pickup_code.encode()):
        raise Conflict("the pickup code does not match", code="PICKUP_CODE_MISMATCH")
    if not rewards.hand_over(redemption, now(), caller.member_id):
        raise Conflict("the gift has already been handed over", code="ALREADY_PICKED_UP")
    return redemption_out(_load(redemption_id), caller)
