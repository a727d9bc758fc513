"""HQ's products: the list with stock per store, the edit (name, price_fen, active only), the restock."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.products import StoreId


class ManagedProductOut(Model):
    sku: str
    name: str
    price_fen: int
    active: bool
    stock: dict[str, int] = Field(description="units at each store, by store_id")
    created_at: str
    updated_at: str | None = None


class ManagedProductList(Model):
    items: list[ManagedProductOut]
    next: str | None = None


class EditProductRequest(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    price_fen: StrictInt | None = Field(default=None, ge=1, le=100_000_000, description="unit price in fen")
    active: StrictBool | None = Field(default=None, description="false: cannot be ordered (409 PRODUCT_INACTIVE)")


class ProductRestockRequest(RequestModel):
    store_id: StoreId
    add: StrictInt = Field(ge=1, le=1_000_000)


class ProductRestockOut(Model):
    sku: str
    store_id: str
    stock: int
