"""Journeys (marketing automation): the request to create one, its answer with counters, and the list."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import Id

TriggerType = Literal["joined", "no_purchase_for_days", "points_expiring", "coupon_expiring"]
TIME_TRIGGERS = ("no_purchase_for_days", "points_expiring", "coupon_expiring")
TemplateId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class Trigger(RequestModel):
    type: TriggerType
    days: StrictInt | None = Field(default=None, ge=1, le=365,
                                   description="for the time triggers: days without a purchase, or days ahead")

    @model_validator(mode="after")
    def _days(self) -> Trigger:
        if self.type in TIME_TRIGGERS and self.days is None:
            raise ValueError(f"{self.type} needs days (1-365)")
        if self.type == "joined" and self.days is not None:
            raise ValueError("joined takes no days")
        return self


class GrantCouponAction(RequestModel):
    type: Literal["grant_coupon"]
    template_id: Id


class MessageAction(RequestModel):
    type: Literal["message"]
    template_id: TemplateId = Field(description="the WeChat subscription-message template")
    page: str | None = Field(default=None, min_length=1, max_length=256, pattern=r"^pages/[A-Za-z0-9_/?=&.-]+$")


Action = Annotated[GrantCouponAction | MessageAction, Field(discriminator="type")]


class CreateJourneyRequest(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    trigger: Trigger
    segment_id: Id | None = None
    actions: list[Action] = Field(min_length=1, max_length=5)
    reentry_days: StrictInt = Field(default=30, ge=1, le=365)
    active: StrictBool = True


class UpdateJourneyRequest(RequestModel):
    active: StrictBool


class JourneyOut(Model):
    journey_id: str
    name: str
    trigger: dict
    segment_id: str | None = None
    actions: list[dict]
    reentry_days: int
    active: bool
    created_at: str
    entered: int = Field(description="members who entered (once per reentry_days window)")
    actions_done: int = Field(description="actions performed (coupons granted, messages queued)")
    converted: int = Field(description="entries followed by a paid order or POS sale within 14 days")


class JourneyList(Model):
    items: list[JourneyOut]
    next: str | None = None
