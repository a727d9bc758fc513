"""HQ's campaigns: every campaign by status, newest first; edit a draft; pause and resume a live one.

Pausing is a conditional write on the campaign item: claims read the campaign (1 s cache per container, the one
that paused forgets at once) and refuse a paused one with 409 CAMPAIGN_NOT_LIVE, as they refuse a cancelled one.
A paused campaign stays in the published index (its templates keep their stock), hidden from GET /campaigns.
"""

from __future__ import annotations

from typing import Any

from storeloop.data import campaign_admin, campaigns, coupons
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.errors import Conflict, NotFound, ValidationFailed
from storeloop.schemas.campaign_admin import EditCampaignRequest
from storeloop.schemas.campaigns import CampaignList, CampaignOut, CampaignStatusOut
from storeloop.schemas.coupons import is_id
from storeloop.services.campaigns import _campaign_out


class CampaignNotDraft(Conflict):
    code, message = "CAMPAIGN_NOT_DRAFT", "only a draft campaign can be edited"


def _must_get(campaign_id: str) -> campaigns.Campaign:
    found = campaigns.get_campaign(campaign_id, consistent=True) if is_id(campaign_id) else None
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return found


def list_campaigns(status: str | None, limit: int, cursor: str | None) -> CampaignList:
    now = clock.now()
    found, after = campaign_admin.list_campaigns(status, to_rfc3339(now), limit, cursor)
    templates = coupons.get_templates({t for c in found for t in c.template_id_list()})
    remaining = coupons.remaining_stock(templates.values())
    items = [_campaign_out(c, [templates[t] for t in c.template_id_list() if t in templates], remaining, now)
             for c in found]
    return CampaignList(items=items, next=after)


def _check_window_and_templates(starts_at: str, ends_at: str, template_ids: list[str]) -> None:
    if parse_rfc3339(ends_at) <= parse_rfc3339(starts_at):
        raise ValidationFailed("ends_at must be after starts_at",
                               details=[{"field": "ends_at", "issue": "before_start", "message": "after starts_at"}])
    if parse_rfc3339(ends_at) <= clock.now():
        raise ValidationFailed("ends_at is in the past",
                               details=[{"field": "ends_at", "issue": "past", "message": "must be in the future"}])
    templates = coupons.get_templates(template_ids)
    unknown = [t for t in template_ids if t not in templates]
    if unknown:
        raise ValidationFailed("unknown template ids", details=[{"field": "template_ids", "issue": "unknown",
                                                                  "message": ", ".join(unknown)}])
    short = [t.template_id for t in templates.values()
             if t.validity_type == "fixed" and parse_rfc3339(t.validity_ends_at) < parse_rfc3339(ends_at)]
    if short:
        raise ValidationFailed("templates whose validity ends before the campaign", details=[
            {"field": "template_ids", "issue": "validity_ends_before_campaign", "message": ", ".join(short)}])


def edit_campaign(campaign_id: str, body: EditCampaignRequest) -> CampaignOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    campaign = _must_get(campaign_id)
    if campaign.status != campaigns.DRAFT:
        raise CampaignNotDraft()
    nulls = [k for k, v in changes.items() if v is None and k not in ("reminder_template_id", "audience")]
    if nulls:
        raise ValidationFailed("these fields cannot be null", details=[
            {"field": k, "issue": "null", "message": "send a value or leave the field out"} for k in nulls])
    if {"starts_at", "ends_at", "template_ids"} & set(changes):
        _check_window_and_templates(changes.get("starts_at", campaign.starts_at),
                                    changes.get("ends_at", campaign.ends_at),
                                    list(changes.get("template_ids", campaign.template_id_list())))
    if "audience" in changes:  # issue 9: stored as the segment's id; null opens the campaign to everyone
        audience = changes.pop("audience")
        segment_id = audience["segment_id"] if audience else None
        if segment_id is not None:
            from storeloop.data import segments

            if segments.load_segment(segment_id) is None:
                raise ValidationFailed("unknown segment", details=[
                    {"field": "audience.segment_id", "issue": "unknown", "message": segment_id}])
        changes["audience_segment_id"] = segment_id
    if changes:
        try:
            campaign_admin.edit_draft(campaign_id, changes, to_rfc3339(clock.now()))
        except campaigns.NotChanged:
            raise CampaignNotDraft() from None  # published or cancelled meanwhile
        campaigns.forget(campaign_id)
    fresh = _must_get(campaign_id)
    templates = coupons.get_templates(fresh.template_id_list())
    return _campaign_out(fresh, [templates[t] for t in fresh.template_id_list() if t in templates])


def pause_campaign(campaign_id: str) -> CampaignStatusOut:
    """live → paused; pausing a paused campaign answers paused again; anything else 409 CAMPAIGN_NOT_LIVE."""
    campaign = _must_get(campaign_id)
    now = clock.now()
    if campaign.status_at(now) == "live":
        try:
            campaign_admin.pause(campaign_id, to_rfc3339(now))
        except campaigns.NotChanged:
            pass  # cancelled or ended meanwhile: the fresh read says which
        campaigns.forget(campaign_id)
        campaign = _must_get(campaign_id)
    status = campaign.status_at(clock.now())
    if status != campaigns.PAUSED:
        raise Conflict(f"the campaign is {status}, not live", code="CAMPAIGN_NOT_LIVE")
    return CampaignStatusOut(campaign_id=campaign_id, status="paused")


def resume_campaign(campaign_id: str) -> CampaignStatusOut:
    """paused → live; resuming a live one answers live again; ended 409 CAMPAIGN_ENDED, else CAMPAIGN_NOT_PAUSED."""
    campaign = _must_get(campaign_id)
    now = clock.now()
    if campaign.status_at(now) == campaigns.PAUSED:
        try:
            campaign_admin.resume(campaign_id, to_rfc3339(now))
        except campaigns.NotChanged:
            pass
        campaigns.forget(campaign_id)
        campaign = _must_get(campaign_id)
    status = campaign.status_at(clock.now())
    if status == "live":
        return CampaignStatusOut(campaign_id=campaign_id, status="live")
    if status == "ended":
        raise Conflict("this campaign has ended", code="CAMPAIGN_ENDED")
    raise Conflict(f"the campaign is {status}, not paused", code="CAMPAIGN_NOT_PAUSED")
