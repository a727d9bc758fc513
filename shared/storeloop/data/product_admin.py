"""HQ's side of products: the list with stock per store, edits (copied to every store's stock item), restock.

Keys (docs/data-model.md, "Products"): the product `PRODUCT#<sku>` / `PRODUCT` carries GSI1 `PRODUCTS` / `<sku>`
and `store_ids`, the stores holding its stock item `STORE#<store_id>` / `STOCK#<sku>`; name, price and `active`
are copied onto each stock item (orders and a store's list read that one item), so an edit writes them all in one
transaction (at most 99 stores, data/products.py).
"""

from __future__ import annotations

import random
import time
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.models import cancellation_codes, connection, read_page, start_key
from storeloop.data.products import PRODUCTS_PARTITION, Product, StoreStock, product_pk, stock_key

MAX_STORES = 99
ATTEMPTS = 8


class ProductGone(Exception):
    pass


class TooManyStores(Exception):
    pass


class Changed(Exception):
    """The product or a stock item changed between reading and writing it; nothing changed."""


class Busy(Exception):
    """Other changes of the product kept winning; the client retries (429)."""


class ManagedProduct(Product):
    active = BooleanAttribute(null=True)  # None or True: on sale
    updated_at = UnicodeAttribute(null=True)


def get(sku: str) -> ManagedProduct | None:
    try:
        return ManagedProduct.get(product_pk(sku), "PRODUCT", consistent_read=True)
    except DoesNotExist:
        return None


def list_products(limit: int, cursor: str | None) -> tuple[list[ManagedProduct], str | None]:
    """A page of every product by sku (Query GSI1 `PRODUCTS`, `limit + 1`) after the client's `cursor`; the next."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=PRODUCTS_PARTITION, SK="PRODUCT")
    items, last = read_page(ManagedProduct.gsi1.query(PRODUCTS_PARTITION, limit=limit + 1,
                                                      last_evaluated_key=start_key(after)), limit, index="GSI1")
    return cast(list[ManagedProduct], items), cursors.next_cursor(last)


def stock_of(products: list[ManagedProduct]) -> dict[str, dict[str, int]]:
    """sku → {store_id: units} (BatchGetItem of the stock items the products name)."""
    keys = [stock_key(s, p.sku) for p in products for s in sorted(p.store_ids or ())]
    out: dict[str, dict[str, int]] = {p.sku: {} for p in products}
    for item in StoreStock.batch_get(keys, consistent_read=True) if keys else []:
        out.setdefault(item.sku, {})[item.store_id] = int(item.stock)
    return {sku: dict(sorted(stores.items())) for sku, stores in out.items()}


def edit(product: ManagedProduct, changes: dict[str, Any], at: str) -> None:
    """The product and every store's copy in one transaction, conditional on the product's store list as read.
    Changed when it did not apply because the product changed meanwhile (a restock added a store, an order held a
    stock item): read it again."""
    stores = sorted(product.store_ids or ())
    if len(stores) > MAX_STORES:
        raise TooManyStores()
    try:
        with TransactWrite(connection=connection()) as tx:
            actions = [getattr(ManagedProduct, k).set(v) for k, v in changes.items()]
            tx.update(ManagedProduct(product_pk(product.sku), "PRODUCT"),
                      actions=actions + [ManagedProduct.updated_at.set(at)],
                      condition=ManagedProduct.PK.exists() & (
                          ManagedProduct.store_ids == set(stores) if stores
                          else ManagedProduct.store_ids.does_not_exist()))
            for store_id in stores:
                pk, sk = stock_key(store_id, product.sku)
                tx.update(StoreStock(pk, sk), actions=[getattr(StoreStock, k).set(v) for k, v in changes.items()],
                          condition=StoreStock.PK.exists())
    except TransactWriteError as exc:
        if not any(c in ("ConditionalCheckFailed", "TransactionConflict") for c in cancellation_codes(exc)):
            raise
        raise Changed() from None


def restock(sku: str, store_id: str, add: int) -> int:
    """Add units at a store (its stock item made if the store had none) and list the store on the product; the
    units there afterwards. One transaction of two updates, conditional on the product's terms as read (an edit
    meanwhile: read again), so a new store's copy never carries an old name or price."""
    pk, sk = stock_key(store_id, sku)
    for attempt in range(ATTEMPTS):
        product = get(sku)
        if product is None:
            raise ProductGone(sku)
        same = ManagedProduct.PK.exists() & (ManagedProduct.name == product.name) \
            & (ManagedProduct.price_fen == int(product.price_fen))
        same &= (ManagedProduct.active == False) if product.active is False else (  # noqa: E712
            ManagedProduct.active.does_not_exist() | (ManagedProduct.active == True))  # noqa: E712
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(ManagedProduct(product_pk(sku), "PRODUCT"),
                          actions=[ManagedProduct.store_ids.add({store_id})], condition=same)
                tx.update(StoreStock(pk, sk), actions=[
                    StoreStock.stock.add(add), StoreStock.store_id.set(store_id), StoreStock.sku.set(sku),
                    StoreStock.name.set(product.name), StoreStock.price_fen.set(int(product.price_fen)),
                    StoreStock.active.set(product.active is not False)])
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                time.sleep(random.uniform(0, 0.01 * 2 ** attempt))  # noqa: S311 - jitter, not a secret
                continue
            raise
        return int(StoreStock.get(pk, sk, consistent_read=True).stock)
    raise Busy(sku)
