"""Products: the admin's create request, and products as a store lists them (with its stock)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.stores import ID_PATTERN

SKU_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_STORES_PER_PRODUCT = 99  # one transaction writes the product and its stock at every store (100 items at most)

StoreId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class CreateProductRequest(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    price_fen: int = Field(strict=True, ge=1, le=100_000_000, description="unit price in fen")
    stock: dict[StoreId, Annotated[int, Field(strict=True, ge=0, le=1_000_000)]] = Field(
        min_length=1, max_length=MAX_STORES_PER_PRODUCT, description="units at each store, by store_id")

    @field_validator("stock", mode="before")
    @classmethod
    def _object(cls, v: object) -> object:
        if not isinstance(v, dict):
            raise ValueError("stock must be an object of store_id: units")
        return v


class ProductOut(Model):
    sku: str
    name: str
    price_fen: int
    stock: dict[str, int]
    created_at: str


class StoreProductOut(Model):
    sku: str
    name: str
    price_fen: int
    stock: int


class StoreProductList(Model):
    items: list[StoreProductOut]
    next: str | None = None
