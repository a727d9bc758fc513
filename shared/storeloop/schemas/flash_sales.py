"""(issue 10) Flash sales: the admin's create request and the sale as shoppers see it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import Id, Rfc3339, unique_values
from storeloop.schemas.products import SKU_PATTERN
from storeloop.schemas.stores import ID_PATTERN
from storeloop.schemas.types import ends_after_start

MAX_STOCK = 1_000_000


class CreateFlashSaleRequest(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    store_ids: Annotated[list[Id], AfterValidator(unique_values)] = Field(min_length=1, max_length=100)
    price_fen: int = Field(strict=True, ge=1, le=100_000_000, description="the sale price in fen")
    stock: int = Field(strict=True, ge=1, le=MAX_STOCK, description="units for sale, across its stores")
    per_member_limit: int = Field(strict=True, ge=1, le=100)
    starts_at: Rfc3339
    ends_at: Rfc3339
    expected_peak_rps: int | None = Field(default=None, strict=True, ge=1, le=1_000_000,
                                          description="orders/s expected at the start: the order path is pre-warmed "
                                                      "for it (docs/capacity.md)")

    _window = ends_after_start()


class FlashSaleOrderRequest(RequestModel):
    store_id: str = Field(pattern=ID_PATTERN, description="the store the order is picked up at")


class FlashSaleOut(Model):
    flash_sale_id: str
    sku: str
    name: str
    store_ids: list[str]
    price_fen: int
    stock: int
    per_member_limit: int
    starts_at: str
    ends_at: str
    status: str = Field(description="upcoming | live | ended")
    remaining: int
    expected_peak_rps: int | None = None
    created_at: str


class FlashSaleList(Model):
    items: list[FlashSaleOut]
    next: str | None = None
