"""Coupons: create templates, claim a coupon from a live campaign, list a member's coupons, their QR tokens."""

from __future__ import annotations

import uuid

from storeloop.caller import Caller
from storeloop.data import campaigns, coupon_claims, coupons, stores
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.domain.coupons import CouponRule
from storeloop.domain.errors import CampaignNotLive, CouponAlreadyRedeemed, CouponExpired, NotInAudience
from storeloop.errors import NotFound, RateLimited, ValidationFailed
from storeloop.schemas.coupons import (
    ClaimOut,
    ClaimRequest,
    CouponList,
    CouponOut,
    CouponTemplateOut,
    CreateCouponTemplateRequest,
    QrOut,
    is_id,
)
from storeloop.settings import Settings

QR_TOKEN_TYPE = "coupon_qr"  # noqa: S105 - a token type name, not a secret


def create_template(caller: Caller, body: CreateCouponTemplateRequest) -> CouponTemplateOut:
    fields = body.model_dump(mode="json")
    validity = fields["validity"]
    if validity["type"] == "fixed" and parse_rfc3339(validity["ends_at"]) <= clock.now():
        raise ValidationFailed("validity has already ended", details=[
            {"field": "validity.ends_at", "issue": "past", "message": "must be in the future"}])
    store_ids = fields["store_ids"]
    known = stores.get_stores(store_ids)
    unknown = [s for s in store_ids if s not in known]
    if unknown:
        raise ValidationFailed("unknown store ids", details=[{"field": "store_ids", "issue": "unknown",
                                                               "message": ", ".join(unknown)}])
    try:
        CouponRule.from_dict(fields)  # the domain's own check of the terms; the schema already enforces them
    except ValueError as exc:
        raise ValidationFailed("coupon terms are not valid",
                               details=[{"field": "body", "issue": "invalid", "message": str(exc)}]) from None
    template = coupons.create_template("t_" + uuid.uuid4().hex[:20], fields, to_rfc3339(clock.now()),
                                       caller.member_id)
    return CouponTemplateOut(**template.public(), remaining=int(template.total_stock))


def claim_coupon(caller: Caller, campaign_id: str, body: ClaimRequest) -> ClaimOut:
    """One coupon of a template of a live campaign: 404 unknown, 409 CAMPAIGN_NOT_LIVE / SOLD_OUT / CLAIM_LIMIT."""
    campaign = campaigns.cached_campaign(campaign_id) if is_id(campaign_id) else None
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if body.template_id not in campaign.template_id_list():
        raise NotFound(f"template {body.template_id} is not in this campaign")
    now = clock.now()
    if campaign.status_at(now) != "live":
        raise CampaignNotLive()
    template = coupons.cached_template(body.template_id)
    if template is None:
        raise NotFound(f"template {body.template_id} not found")
    # --- issue 9: who the campaign is for, and where the shopper came from
    # (imported here: a plain claim loads neither, so the claim function's cold start stays as it was)
    if campaign.audience_segment_id:
        from storeloop.services import segments

        if not segments.in_audience(caller.member_id, campaign.audience_segment_id):
            raise NotInAudience()
    source = None
    if body.source or body.scene:
        from storeloop.services import sources

        source = sources.resolve(campaign_id, body.source, body.scene)
    try:
        coupon = coupon_claims.claim(template, campaign_id, caller.member_id, now, source=source)
    except coupons.Throttled:
        raise RateLimited("too many claims right now, retry", headers={"Retry-After": "1"}) from None
    return ClaimOut(coupon=CouponOut(**coupon.public(now)))


def my_coupons(caller: Caller, status: str | None, limit: int, cursor: str | None) -> CouponList:
    now = clock.now()
    found, after = coupons.member_coupons(caller.member_id, status, to_rfc3339(now), limit, cursor)
    return CouponList(items=[CouponOut(**c.public(now)) for c in found], next=after)


def coupon_qr(settings: Settings, caller: Caller, coupon_id: str) -> QrOut:
    """A signed token naming the coupon, valid `qr_ttl_seconds` (~60 s): a screenshot goes stale. Owner only."""
    coupon = coupons.get_coupon(coupon_id) if is_id(coupon_id) else None
    if coupon is None or coupon.member_id != caller.member_id:
        raise NotFound(f"coupon {coupon_id} not found")  # someone else's coupon is not found, not forbidden
    status = coupon.status_at(clock.now())
    if status in ("redeemed", "locked"):
        raise CouponAlreadyRedeemed()
    if status in ("expired", "revoked"):
        raise CouponExpired()
    from storeloop import tokens  # jwt loads only in the function that signs QR codes, not on the claim path

    token = tokens.issue(settings.token_signing_key, QR_TOKEN_TYPE, coupon_id, settings.qr_ttl_seconds)
    return QrOut(qr=token, expires_in=settings.qr_ttl_seconds)
