"""Campaigns: create a draft, publish and cancel it (where the campaign flow hooks in), and what members see."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from storeloop.caller import Caller
from storeloop.data import campaigns, coupons
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.errors import Conflict, NotFound, ValidationFailed
from storeloop.schemas.campaigns import CampaignList, CampaignOut, CampaignStatusOut, CreateCampaignRequest
from storeloop.schemas.coupons import CouponTemplateOut, is_id
from storeloop.services import campaign_flow, warmup


def create_campaign(caller: Caller, body: CreateCampaignRequest) -> CampaignOut:
    now = clock.now()
    if parse_rfc3339(body.ends_at) <= now:
        raise ValidationFailed("ends_at is in the past",
                               details=[{"field": "ends_at", "issue": "past", "message": "must be in the future"}])
    templates = coupons.get_templates(body.template_ids)
    unknown = [t for t in body.template_ids if t not in templates]
    if unknown:
        raise ValidationFailed("unknown template ids", details=[{"field": "template_ids", "issue": "unknown",
                                                                  "message": ", ".join(unknown)}])
    # A claim must never hand out a coupon that is already over: fixed windows must outlast the campaign.
    short = [t.template_id for t in templates.values()
             if t.validity_type == "fixed" and parse_rfc3339(t.validity_ends_at) < parse_rfc3339(body.ends_at)]
    if short:
        raise ValidationFailed("templates whose validity ends before the campaign", details=[
            {"field": "template_ids", "issue": "validity_ends_before_campaign", "message": ", ".join(short)}])
    audience = body.audience.segment_id if body.audience else None
    if audience is not None:  # issue 9
        from storeloop.data import segments

        if segments.load_segment(audience) is None:
            raise ValidationFailed("unknown segment", details=[{"field": "audience.segment_id", "issue": "unknown",
                                                                "message": audience}])
    campaign = campaigns.create_campaign("cp_" + uuid.uuid4().hex[:20], body.name, body.starts_at, body.ends_at,
                                         list(body.template_ids), body.reminder_template_id, to_rfc3339(now),
                                         caller.member_id, audience_segment_id=audience,
                                         expected_peak_rps=body.expected_peak_rps)
    return _campaign_out(campaign, [templates[t] for t in body.template_ids])


def publish_campaign(campaign_id: str) -> CampaignStatusOut:
    """draft → scheduled (before starts_at) or live (within the window); a repeat answers the current status.

    Publishing is where the campaign flow starts (see `_start_campaign_flow`). It is called on every publish
    of a published campaign too, so a retry after a failed start starts it then.
    """
    campaign = _must_get(campaign_id)
    now = clock.now()
    if campaign.status == campaigns.DRAFT and not campaign.has_ended(now):
        try:
            campaigns.publish(campaign_id, campaign.ends_at, to_rfc3339(now))
        except campaigns.NotChanged:
            pass  # published or cancelled meanwhile: the fresh read below says which
        campaigns.forget(campaign_id)
        campaign = _must_get(campaign_id)
    status = campaign.status_at(now)
    if status == campaigns.CANCELLED:
        raise Conflict("this campaign was cancelled", code="CAMPAIGN_CANCELLED")
    if status in ("ended", campaigns.DRAFT):  # a draft here is one whose window has passed
        raise Conflict("this campaign has ended", code="CAMPAIGN_ENDED")
    _start_campaign_flow(campaign)
    return CampaignStatusOut(campaign_id=campaign_id, status=status)  # type: ignore[arg-type]


def cancel_campaign(campaign_id: str) -> CampaignStatusOut:
    """draft or published → cancelled, before it ends; claims stop at once. A repeat answers cancelled again.

    Cancelling is where the campaign flow stops (see `_stop_campaign_flow`).
    """
    campaign = _must_get(campaign_id)
    now = clock.now()
    if campaign.status != campaigns.CANCELLED and not campaign.has_ended(now):
        try:
            campaigns.cancel(campaign_id, to_rfc3339(now))
        except campaigns.NotChanged:
            pass
        campaigns.forget(campaign_id)
        campaign = _must_get(campaign_id)
    if campaign.status != campaigns.CANCELLED:
        raise Conflict("this campaign has ended", code="CAMPAIGN_ENDED")
    _stop_campaign_flow(campaign)
    return CampaignStatusOut(campaign_id=campaign_id, status="cancelled")


def _start_campaign_flow(campaign: campaigns.Campaign) -> None:
    # The campaign flow (statemachines/campaign.asl.json, services/campaign_flow.py): one execution named after the
    # campaign, so a repeated publish starts no second flow. `live` and `ended` still read from the clock
    # (Campaign.status_at), so claims never wait for the flow's own status writes.
    campaign_flow.start_flow(campaign)
    # With an expected peak, the warm flow (services/warmup.py) provisions the claim path before starts_at.
    warmup.start_warm_flow(campaign)


def _stop_campaign_flow(campaign: campaigns.Campaign) -> None:
    # StopExecution of the campaign's execution (none for a draft; stopping twice is fine). Claims already stop:
    # the campaign reads `cancelled`, and it has left the published index.
    campaign_flow.stop_flow(campaign)


def list_live_campaigns(limit: int, cursor: str | None, caller: Caller | None = None) -> CampaignList:
    now = clock.now()
    found, after = campaigns.live_campaigns(to_rfc3339(now), limit, cursor)
    if caller is not None and not caller.is_admin and any(c.audience_segment_id for c in found):
        # issue 9: a campaign with an audience shows to its segment only (the caller's profile read once)
        from storeloop.data.segments import member_facts

        facts = member_facts(caller.member_id)
        found = [c for c in found if _sees(caller, c, facts)]
    templates = coupons.get_templates({t for c in found for t in c.template_id_list()})
    remaining = coupons.remaining_stock(templates.values())
    items = [_campaign_out(c, [templates[t] for t in c.template_id_list() if t in templates], remaining, now)
             for c in found]
    return CampaignList(items=items, next=after)


def get_campaign(caller: Caller, campaign_id: str) -> CampaignOut:
    campaign = campaigns.get_campaign(campaign_id) if is_id(campaign_id) else None
    if campaign is None or (campaign.status == campaigns.DRAFT and not caller.is_admin):
        raise NotFound(f"campaign {campaign_id} not found")  # drafts are for HQ's eyes only
    if not caller.is_admin and not _sees(caller, campaign):
        raise NotFound(f"campaign {campaign_id} not found")  # issue 9: for its audience only
    templates = coupons.get_templates(campaign.template_id_list())
    ordered = [templates[t] for t in campaign.template_id_list() if t in templates]
    out = _campaign_out(campaign, ordered, coupons.remaining_stock(ordered))
    if caller.is_admin:
        from storeloop.services import campaign_flow

        out.report = campaign_flow.report_of(campaign_id)
    return out


def _sees(caller: Caller, campaign: campaigns.Campaign, facts: Any = None) -> bool:
    """Issue 9: whether the caller is in the campaign's audience (everyone without one)."""
    if not campaign.audience_segment_id:
        return True
    from storeloop.services import segments

    return segments.in_audience(caller.member_id, campaign.audience_segment_id, facts)


def _must_get(campaign_id: str) -> campaigns.Campaign:
    campaign = campaigns.get_campaign(campaign_id, consistent=True) if is_id(campaign_id) else None
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


def _campaign_out(campaign: campaigns.Campaign, templates: list[coupons.CouponTemplate],
                  remaining: dict[str, int] | None = None, now: datetime | None = None) -> CampaignOut:
    """The campaign with its templates; `remaining` per template (a new campaign's is its whole stock)."""
    stock = remaining if remaining is not None else {t.template_id: int(t.total_stock) for t in templates}
    outs = [CouponTemplateOut(**t.public(), remaining=stock.get(t.template_id, 0)) for t in templates]
    return CampaignOut(**campaign.public(now or clock.now()), templates=outs)
