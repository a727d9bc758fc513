"""Products: the catalogue entry and each store's stock of it (the unit an order reserves with a condition).

Keys (docs/data-model.md, "Products, orders and points"):
- product      `PRODUCT#<sku>` / `PRODUCT`
- store stock  `STORE#<store_id>` / `STOCK#<sku>`: `stock` left at that store; name and price are copied here so
               an order and the store's product list read one item per line, not two.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.data.stores import store_pk

STOCK_PREFIX = "STOCK#"
PRODUCTS_PARTITION = "PRODUCTS"  # GSI1 of every product item, by sku (HQ's list)


class ProductExists(Exception):
    pass


def product_pk(sku: str) -> str:
    return f"PRODUCT#{sku}"


def stock_sk(sku: str) -> str:
    return f"{STOCK_PREFIX}{sku}"


class Product(Entity):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    price_fen = NumberAttribute()
    created_at = UnicodeAttribute()
    store_ids = UnicodeSetAttribute(null=True)  # the stores holding a stock item of it (HQ's list, data/product_admin)


class StoreStock(Entity):
    store_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    price_fen = NumberAttribute()
    stock = NumberAttribute()
    # issue 15 (services/pos_stock.py): units held by unfinished orders, and the last till update applied
    reserved = NumberAttribute(null=True)
    pos_sequence = NumberAttribute(null=True)
    pos_update_id = UnicodeAttribute(null=True)
    pos_count = NumberAttribute(null=True)
    pos_synced_at = UnicodeAttribute(null=True)
    active = BooleanAttribute(null=True)  # False: deactivated by HQ, cannot be ordered (copied from the product)

    def public(self) -> dict:
        return {"sku": self.sku, "name": self.name, "price_fen": int(self.price_fen), "stock": int(self.stock)}


def stock_key(store_id: str, sku: str) -> tuple[str, str]:
    return store_pk(store_id), stock_sk(sku)


def create_product(sku: str, name: str, price_fen: int, stock: dict[str, int], created_at: str) -> Product:
    """The product and its stock at each store, all or nothing; an existing sku is refused."""
    product = Product(product_pk(sku), "PRODUCT", sku=sku, name=name, price_fen=price_fen, created_at=created_at,
                      store_ids=set(stock) or None, GSI1PK=PRODUCTS_PARTITION, GSI1SK=sku)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(product, condition=Product.PK.does_not_exist())
            for store_id, units in stock.items():
                pk, sk = stock_key(store_id, sku)
                tx.save(StoreStock(pk, sk, store_id=store_id, sku=sku, name=name, price_fen=price_fen, stock=units))
    except TransactWriteError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise ProductExists(sku) from None
        raise
    return product


def get_product(sku: str) -> Product | None:
    """The catalogue's product (an eventually consistent read)."""
    return next(iter(Product.batch_get([(product_pk(sku), "PRODUCT")])), None)


def existing_skus(skus: list[str]) -> set[str]:
    keys = [(product_pk(s), "PRODUCT") for s in dict.fromkeys(skus)]
    return {p.sku for p in Product.batch_get(keys)} if keys else set()


def store_stock(store_id: str, limit: int, cursor: str | None) -> tuple[list[StoreStock], str | None]:
    """A store's products with their stock, by sku, from the client's cursor (a key of this store's stock, else
    400); the next page's cursor, or None on the last page."""
    after = cursors.start_key(cursor, ("PK", "SK"), PK=store_pk(store_id),
                              check=lambda k: k["SK"].startswith(STOCK_PREFIX))
    query = StoreStock.query(store_pk(store_id), StoreStock.SK.startswith(STOCK_PREFIX), limit=limit + 1,
                             filter_condition=StoreStock.active.does_not_exist() | (StoreStock.active == True),  # noqa: E712
                             last_evaluated_key=start_key(after))
    items, last = read_page(query, limit)
    return items, cursors.next_cursor(last)
