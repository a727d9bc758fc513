"""Issue 9: the welcome gift setting."""

from __future__ import annotations

from pydantic import Field

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import Id


class WelcomeGiftRequest(RequestModel):
    template_id: Id | None = Field(description="the template a new member gets one coupon of; null: no gift")


class WelcomeGiftOut(Model):
    template_id: str | None = None
    updated_at: str
