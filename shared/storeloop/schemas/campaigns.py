"""Campaigns: request bodies and response shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import CouponTemplateOut, Id, Rfc3339, unique_values
from storeloop.schemas.types import ends_after_start

CampaignStatus = Literal["draft", "scheduled", "live", "paused", "ended", "cancelled"]


class Audience(RequestModel):
    segment_id: Id


class CreateCampaignRequest(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    starts_at: Rfc3339
    ends_at: Rfc3339
    template_ids: Annotated[list[Id], AfterValidator(unique_values)] = Field(min_length=1, max_length=20)
    reminder_template_id: str | None = Field(default=None, min_length=1, max_length=128,
                                             pattern=r"^[A-Za-z0-9_-]+$",
                                             description="the WeChat subscription-message template for reminders")
    audience: Audience | None = Field(default=None,
                                      description="issue 9: only this segment's shoppers see and claim it")
    expected_peak_rps: StrictInt | None = Field(default=None, ge=1, le=1_000_000,
                                          description="claims/s expected at the start: the claim path is pre-warmed "
                                                      "for it (docs/capacity.md)")

    _window = ends_after_start()


class TemplateReport(Model):
    template_id: str
    name: str
    total_stock: int
    claimed: int
    redeemed: int
    released: int
    remaining: int


class CampaignReport(Model):
    campaign_id: str
    generated_at: str
    notified: int  # launch messages queued (each is sent only while the member holds a grant and consent)
    reminded: int  # reminder messages queued
    claimed: int
    redeemed: int
    released: int
    templates: list[TemplateReport]


class CampaignOut(Model):
    campaign_id: str
    name: str
    status: CampaignStatus = Field(description="as of now: a published campaign is scheduled, live or ended")
    starts_at: str
    ends_at: str
    template_ids: list[str]
    reminder_template_id: str | None = None
    expected_peak_rps: int | None = None
    templates: list[CouponTemplateOut] = Field(default_factory=list, description="with their remaining stock")
    created_at: str
    published_at: str | None = None
    cancelled_at: str | None = None
    audience: dict[str, str] | None = None
    report: CampaignReport | None = Field(default=None,
                                          description="the final report once the campaign has ended (admins only)")


class CampaignStatusOut(Model):
    campaign_id: str
    status: CampaignStatus


class CampaignList(Model):
    items: list[CampaignOut]
    next: str | None = None
