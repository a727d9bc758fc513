"""(issue 10) The points mall: the admin's create request, rewards, redemptions and a gift's handover."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import CouponOut
from storeloop.schemas.products import SKU_PATTERN
from storeloop.schemas.stores import ID_PATTERN


class CreateRewardRequest(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    points: int = Field(strict=True, ge=1, le=100_000_000, description="what one redemption costs")
    kind: Literal["coupon", "gift"]
    template_id: str | None = Field(default=None, pattern=ID_PATTERN, description="coupon: the template issued")
    sku: str | None = Field(default=None, pattern=SKU_PATTERN, description="gift: the product handed over")
    stock: int = Field(strict=True, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _what_it_gives(self) -> CreateRewardRequest:
        if self.kind == "coupon" and (self.template_id is None or self.sku is not None):
            raise ValueError("a coupon reward takes template_id (and no sku)")
        if self.kind == "gift" and (self.sku is None or self.template_id is not None):
            raise ValueError("a gift reward takes sku (and no template_id)")
        return self


class RewardOut(Model):
    reward_id: str
    name: str
    points: int
    kind: str
    template_id: str | None = None
    sku: str | None = None
    total_stock: int
    remaining: int
    created_at: str


class RewardList(Model):
    items: list[RewardOut]
    next: str | None = None


class RedeemRequest(RequestModel):
    store_id: str | None = Field(default=None, pattern=ID_PATTERN,
                                 description="gift: the store it is picked up at (required); coupon: optional")


class RedemptionOut(Model):
    redemption_id: str
    reward_id: str
    kind: str
    points_spent: int
    store_id: str | None = None
    status: str = Field(description="issued | picked_up")
    coupon: CouponOut | None = Field(default=None, description="coupon rewards: the Coupon issued")
    pickup_code: str | None = Field(default=None, description="gift rewards: shown to the shopper only")
    created_at: str
    picked_up_at: str | None = None


class HandOverRequest(RequestModel):
    pickup_code: str = Field(min_length=1, max_length=16)
