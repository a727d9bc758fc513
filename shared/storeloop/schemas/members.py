"""Members and points: the profile, the points ledger, the member code, and the POS sale webhook."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from storeloop.domain.clock import parse_rfc3339
from storeloop.schemas import Model, RequestModel
from storeloop.schemas.privacy import ConsentOut
from storeloop.schemas.products import SKU_PATTERN
from storeloop.schemas.types import DATETIME_PATTERN


class MeOut(Model):
    member_id: str
    is_member: bool
    joined_at: str | None = None
    tier: str
    points: int
    lifetime_spend_fen: int
    consents: ConsentOut | None = Field(default=None, description="the consent in force, null if none given")


class PointsEntryOut(Model):
    entry_id: str
    delta: int
    reason: str
    created_at: str
    order_id: str | None = None
    sale_id: str | None = None
    store_id: str | None = None
    shortfall: int | None = None


class PointsLedgerOut(Model):
    balance: int
    items: list[PointsEntryOut]
    next: str | None = None


class MemberCodeOut(Model):
    code: str
    expires_in: int


class PosItem(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    qty: int = Field(strict=True, ge=1, le=10_000)
    price_fen: int = Field(strict=True, ge=0, le=100_000_000)


class PosSaleRequest(RequestModel):
    sale_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    member_code: str | None = Field(default=None, min_length=1, max_length=2048)
    total_fen: int = Field(strict=True, ge=0, le=1_000_000_000)
    items: list[PosItem] = Field(default_factory=list, max_length=200)
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    occurred_at: str = Field(max_length=40, pattern=DATETIME_PATTERN, json_schema_extra={"format": "date-time"},
                             description="RFC 3339 with an offset, years 2000-2100, kept as sent")

    @field_validator("occurred_at")
    @classmethod
    def _rfc3339(cls, v: str) -> str:
        parse_rfc3339(v)
        return v

    @field_validator("coupon_codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        if any(not isinstance(c, str) or not c or len(c) > 2048 for c in v):
            raise ValueError("coupon codes must be non-empty strings")
        if len(set(v)) != len(v):
            raise ValueError("each coupon code may appear once")
        return v


class PosSaleOut(Model):
    member_id: str | None = None
    points_earned: int
    coupons_redeemed: list[str]
    coupons_rejected: list[dict[str, str]] = Field(default_factory=list)
    coupon_sources: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="issue 9: redeemed code → the source its coupon was claimed through")
