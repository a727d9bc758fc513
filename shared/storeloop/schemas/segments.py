"""Issue 9, segments: the rules API.md lists, and the segment as answered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt

from storeloop.domain.sources import SourceChannel
from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import MAX_FEN, Id, unique_values

Tier = Literal["bronze", "silver", "gold"]  # domain.points.DEFAULT_TIER_THRESHOLDS


class SegmentRules(RequestModel):
    tiers: Annotated[list[Tier], AfterValidator(unique_values)] | None = Field(default=None, min_length=1)
    min_lifetime_spend_fen: StrictInt | None = Field(default=None, ge=0, le=MAX_FEN)
    purchased_within_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    not_purchased_for_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    store_ids: Annotated[list[Id], AfterValidator(unique_values)] | None = Field(default=None, min_length=1,
                                                                               max_length=500)
    channels: Annotated[list[SourceChannel], AfterValidator(unique_values)] | None = Field(default=None, min_length=1)
    members_only: StrictBool | None = None
    new_shoppers_only: StrictBool | None = None


class CreateSegmentRequest(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    rules: SegmentRules


class SegmentOut(Model):
    segment_id: str
    name: str
    rules: dict[str, Any]
    size: int | None = Field(default=None, description="members matching when last counted (None: not yet)")
    size_at: str | None = None
    created_at: str
