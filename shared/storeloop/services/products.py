"""Products: an admin adds a product with its stock per store; shoppers list what a store has."""

from __future__ import annotations

from storeloop.data import products, stores
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import Conflict, NotFound, ValidationFailed
from storeloop.schemas.products import CreateProductRequest, ProductOut, StoreProductList, StoreProductOut


def create_product(body: CreateProductRequest) -> ProductOut:
    known = stores.get_stores(list(body.stock))
    unknown = [s for s in body.stock if s not in known]
    if unknown:
        raise ValidationFailed("unknown store ids", details=[{"field": f"stock.{s}", "issue": "unknown store"}
                                                              for s in unknown])
    try:
        product = products.create_product(body.sku, body.name, body.price_fen, dict(body.stock), to_rfc3339(now()))
    except products.ProductExists:
        raise Conflict(f"product {body.sku} already exists", code="PRODUCT_EXISTS") from None
    return ProductOut(sku=product.sku, name=product.name, price_fen=int(product.price_fen), stock=dict(body.stock),
                      created_at=product.created_at)


def store_products(store_id: str, limit: int, cursor: str | None) -> StoreProductList:
    items, after = products.store_stock(store_id, limit, cursor)
    if not items and not cursor and stores.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")
    return StoreProductList(items=[StoreProductOut(**s.public()) for s in items], next=after)
