"""HQ's campaigns: the draft edit (only the fields API.md names; others are a 400)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from storeloop.schemas import RequestModel
from storeloop.schemas.campaigns import Audience
from storeloop.schemas.coupons import Id, Rfc3339, unique_values


class EditCampaignRequest(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    starts_at: Rfc3339 | None = None
    ends_at: Rfc3339 | None = None
    template_ids: Annotated[list[Id], AfterValidator(unique_values)] | None = Field(default=None, min_length=1,
                                                                                   max_length=20)
    reminder_template_id: str | None = Field(default=None, min_length=1, max_length=128,
                                             pattern=r"^[A-Za-z0-9_-]+$",
                                             description="null removes the campaign's message template")
    audience: Audience | None = Field(default=None, description="only this segment's shoppers; null: everyone")
