"""HQ's products: the catalogue with stock per store, edits copied to every store, restock, deactivation."""

from __future__ import annotations

import re

from storeloop.data import product_admin, stores
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import Conflict, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.product_admin import (
    EditProductRequest,
    ManagedProductList,
    ManagedProductOut,
    ProductRestockOut,
)
from storeloop.schemas.products import SKU_PATTERN

EDIT_ATTEMPTS = 5


def _out(p: product_admin.ManagedProduct, stock: dict[str, dict[str, int]]) -> ManagedProductOut:
    return ManagedProductOut(sku=p.sku, name=p.name, price_fen=int(p.price_fen), active=p.active is not False,
                             stock=stock.get(p.sku, {}), created_at=p.created_at, updated_at=p.updated_at)


def _must_get(sku: str) -> product_admin.ManagedProduct:
    found = product_admin.get(sku) if re.fullmatch(SKU_PATTERN, sku) else None
    if found is None:
        raise NotFound(f"product {sku} not found")
    return found


def list_products(limit: int, cursor: str | None) -> ManagedProductList:
    found, after = product_admin.list_products(limit, cursor)
    stock = product_admin.stock_of(found)
    return ManagedProductList(items=[_out(p, stock) for p in found], next=after)


def edit_product(sku: str, body: EditProductRequest) -> ManagedProductOut:
    changes = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None]
    if nulls:
        raise ValidationFailed("these fields cannot be null", details=[
            {"field": k, "issue": "null", "message": "send a value or leave the field out"} for k in nulls])
    for _ in range(EDIT_ATTEMPTS):
        product = _must_get(sku)
        if not changes:
            break
        try:
            product_admin.edit(product, changes, to_rfc3339(now()))
            break
        except product_admin.TooManyStores:
            raise Conflict("the product is stocked at too many stores to edit at once") from None
        except product_admin.Changed:
            pass  # a restock added a store meanwhile (or an order held a stock item): read again
    else:
        raise RateLimited("the product is being changed; retry", headers={"Retry-After": "1"})
    fresh = _must_get(sku)
    return _out(fresh, product_admin.stock_of([fresh]))


def restock_product(sku: str, store_id: str, add: int) -> ProductRestockOut:
    _must_get(sku)
    if stores.get_store(store_id) is None:
        raise ValidationFailed("unknown store id", details=[{"field": "store_id", "issue": "unknown",
                                                             "message": store_id}])
    try:
        units = product_admin.restock(sku, store_id, add)
    except product_admin.ProductGone:
        raise NotFound(f"product {sku} not found") from None
    except product_admin.Busy:
        raise RateLimited("the product is being changed; retry", headers={"Retry-After": "1"}) from None
    return ProductRestockOut(sku=sku, store_id=store_id, stock=units)
