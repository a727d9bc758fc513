"""(issue 10) Group buys: the admin's create request, the offer, a group, and opening or joining one."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import Id, Rfc3339, unique_values
from storeloop.schemas.orders import OrderOut, PaymentParams
from storeloop.schemas.products import SKU_PATTERN
from storeloop.schemas.stores import ID_PATTERN
from storeloop.schemas.types import ends_after_start


class CreateGroupBuyRequest(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    store_ids: Annotated[list[Id], AfterValidator(unique_values)] = Field(min_length=1, max_length=100)
    group_size: int = Field(strict=True, ge=2, le=50, description="paid orders that form a group")
    price_fen: int = Field(strict=True, ge=1, le=100_000_000, description="the group price in fen")
    hours: int = Field(strict=True, ge=1, le=168, description="how long a group has to form once opened")
    starts_at: Rfc3339
    ends_at: Rfc3339

    _window = ends_after_start()


class GroupBuyOut(Model):
    group_buy_id: str
    sku: str
    name: str
    store_ids: list[str]
    group_size: int
    price_fen: int
    hours: int
    starts_at: str
    ends_at: str
    status: str = Field(description="upcoming | live | ended (groups can be opened while live)")
    created_at: str


class OpenGroupRequest(RequestModel):
    store_id: str = Field(pattern=ID_PATTERN, description="the store every order of the group is picked up at")


class GroupOut(Model):
    group_id: str
    group_buy_id: str
    store_id: str
    sku: str
    price_fen: int
    status: Literal["forming", "formed", "failed"]
    size: int
    members: int = Field(description="members who have paid")
    needed: int = Field(description="paid members still needed to form")
    opened_at: str
    expires_at: str
    formed_at: str | None = None
    failed_at: str | None = None
    path: str = Field(description="the mini-program path a friend opens to join")


class OpenGroupResponse(Model):
    group_id: str
    group: GroupOut
    order: OrderOut
    payment: PaymentParams


class JoinGroupResponse(Model):
    group: GroupOut
    order: OrderOut
    payment: PaymentParams
