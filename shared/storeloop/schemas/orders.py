"""Orders: the create request, the Order shape, the wx.requestPayment object, pickup and refund requests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.products import SKU_PATTERN
from storeloop.schemas.stores import ID_PATTERN

MAX_LINES = 20

OrderStatus = Literal["pending_payment", "paid", "cancelled", "completed", "refund_pending", "refunded"]


class OrderItemIn(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    qty: int = Field(strict=True, ge=1, le=99)


class CreateOrderRequest(RequestModel):
    store_id: str = Field(pattern=ID_PATTERN, description="the store the order is picked up at")
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_LINES)
    coupon_id: str | None = Field(default=None, pattern=ID_PATTERN)
    points: int = Field(default=0, strict=True, ge=0, le=100_000_000,
                        description="points to use, 100 points = 1 yuan; at most what leaves 1 fen to pay")

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[OrderItemIn]) -> list[OrderItemIn]:
        skus = [item.sku for item in items]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear once; give its qty instead")
        return items


class OrderLineOut(Model):
    sku: str
    name: str
    qty: int
    price_fen: int


class OrderOut(Model):
    order_id: str
    status: OrderStatus
    store_id: str
    items: list[OrderLineOut]
    total_fen: int
    discount_fen: int
    points_used: int
    payable_fen: int
    coupon_id: str | None = None
    pickup_code: str | None = Field(default=None, description="once paid; shown to the shopper only")
    points_earned: int | None = None
    created_at: str
    pay_deadline: str
    paid_at: str | None = None
    cancelled_at: str | None = None
    completed_at: str | None = None
    refund_requested_at: str | None = None
    refunded_at: str | None = None
    source: dict[str, Any] | None = Field(default=None, description="issue 9: the source of the coupon it used")
    # issue 10: a group buy's or a flash sale's order
    campaign_kind: Literal["group_buy", "flash_sale"] | None = None
    campaign_ref: str | None = Field(default=None, description="the group (group_buy) or the flash sale")


class PaymentParams(Model):
    """What the mini-program passes to wx.requestPayment, signed with the merchant key."""

    appId: str  # noqa: N815 - WeChat's field names
    timeStamp: str  # noqa: N815
    nonceStr: str  # noqa: N815
    package: str
    signType: str  # noqa: N815
    paySign: str  # noqa: N815


class CreateOrderResponse(Model):
    order: OrderOut
    payment: PaymentParams


class OrderList(Model):
    items: list[OrderOut]
    next: str | None = None


class PreviewCouponOut(Model):
    """Issue 9: one held coupon priced against the cart."""

    coupon_id: str
    discount_fen: int
    applicable: bool
    reason: str | None = None


class PreviewOut(Model):
    total_fen: int
    discount_fen: int
    points_used: int
    payable_fen: int
    best_coupon_id: str | None = None
    coupons: list[PreviewCouponOut]


class PickupRequest(RequestModel):
    pickup_code: str = Field(pattern=r"^[0-9]{6}$")


class RefundRequest(RequestModel):
    reason: str = Field(min_length=1, max_length=80, description="sent to WeChat Pay, at most 80 characters")
