"""(issue 10) Flash sales (秒杀): the sale, its own stock split over shards, and each member's purchases of it.

Keys (docs/data-model.md, "Campaign kinds"):
- sale       `FLASHSALE#<id>` / `FLASHSALE`; GSI1 `FLASHSALES` / `<ends_at>#<id>` (live and upcoming: ends after now)
- shard      `FLASHSTOCK#<id>#<nn>` / `STOCK`: `remaining` units (each shard its own partition, as coupon stock)
- purchases  `MEMBER#<member_id>` / `FLASHBUY#<id>`: `bought`, the member's live orders of the sale

An order takes one unit from a shard (`remaining > 0`) and counts one purchase (`bought < per_member_limit`) in the
order's own transaction (data/orders.place_order), so the sale never oversells and never exceeds the limit at any
contention; a cancelled or timed-out order gives both back in its cancel transaction (`release_unit`), once.
Unlike coupon stock, shards gain units again (the payment timeout), so no "seen empty" memory is kept.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.members import member_pk
from storeloop.data.models import Entity, connection, read_page, start_key
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.coupons import split_stock, stock_shard_count

INDEX_PK = "FLASHSALES"
CACHE_SECONDS = 1.0  # a sale never changes once created; the cache only bounds reads of its hot item
_cache: dict[str, tuple[float, FlashSale]] = {}
_cache_lock = threading.Lock()
_shuffle = random.Random()  # noqa: S311 - spreads load over shards; nothing secret depends on it


def sale_pk(sale_id: str) -> str:
    return f"FLASHSALE#{sale_id}"


def shard_pk(sale_id: str, shard: int) -> str:
    return f"FLASHSTOCK#{sale_id}#{shard:02d}"


def purchases_key(member_id: str, sale_id: str) -> tuple[str, str]:
    return member_pk(member_id), f"FLASHBUY#{sale_id}"


class FlashSale(Entity):
    flash_sale_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    store_ids = ListAttribute(of=UnicodeAttribute)
    price_fen = NumberAttribute()
    stock = NumberAttribute()
    per_member_limit = NumberAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    shards = NumberAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    expected_peak_rps = NumberAttribute(null=True)  # orders/s at the start: the warm flow provisions for it


class FlashStockShard(Entity):
    flash_sale_id = UnicodeAttribute()
    shard = NumberAttribute()
    remaining = NumberAttribute()


class FlashPurchases(Entity):
    member_id = UnicodeAttribute()
    flash_sale_id = UnicodeAttribute()
    bought = NumberAttribute()


def create_sale(sale_id: str, fields: dict[str, Any], created_at: datetime, created_by: str) -> FlashSale:
    """The sale and its stock shards in one transaction: never a sale without its stock."""
    total = int(fields["stock"])
    n = stock_shard_count(total)
    sale = FlashSale(sale_pk(sale_id), "FLASHSALE", GSI1PK=INDEX_PK, GSI1SK=f"{fields['ends_at']}#{sale_id}",
                     flash_sale_id=sale_id, shards=n, created_at=to_rfc3339(created_at), created_by=created_by,
                     **fields)
    with TransactWrite(connection=connection()) as tx:
        tx.save(sale, condition=FlashSale.PK.does_not_exist())
        for i, units in enumerate(split_stock(total, n)):
            tx.save(FlashStockShard(shard_pk(sale_id, i), "STOCK", flash_sale_id=sale_id, shard=i, remaining=units))
    return sale


def get_sale(sale_id: str, *, cached: bool = False) -> FlashSale | None:
    if cached:
        with _cache_lock:
            hit = _cache.get(sale_id)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    try:
        sale = FlashSale.get(sale_pk(sale_id), "FLASHSALE", consistent_read=not cached)
    except DoesNotExist:
        return None
    with _cache_lock:
        if len(_cache) > 1_000:
            _cache.clear()
        _cache[sale_id] = (time.monotonic(), sale)
    return sale


def sales_ending_after(at: str, limit: int, cursor: str | None) -> tuple[list[FlashSale], str | None]:
    """A page of the sales whose window ends after `at` (live and upcoming), soonest ending first, after the
    client's `cursor`; the next page's cursor (None: the last page)."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=INDEX_PK)
    query = FlashSale.gsi1.query(INDEX_PK, FlashSale.GSI1SK > at, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)


def remaining(sales: list[FlashSale]) -> dict[str, int]:
    """Units left per sale: the sum of its shards (one BatchGetItem per 100 shards)."""
    keys = [(shard_pk(s.flash_sale_id, i), "STOCK") for s in sales for i in range(int(s.shards))]
    totals = {s.flash_sale_id: 0 for s in sales}
    for shard in FlashStockShard.batch_get(keys) if keys else []:
        totals[shard.flash_sale_id] += int(shard.remaining)
    return totals


def shards_in_stock(sale: FlashSale) -> list[int]:
    """The shards that had units on a strongly consistent read, shuffled (where to try next)."""
    found = [int(s.shard) for s in FlashStockShard.batch_get(
        [(shard_pk(sale.flash_sale_id, i), "STOCK") for i in range(int(sale.shards))], consistent_read=True)
        if int(s.remaining) > 0]
    _shuffle.shuffle(found)
    return found


def random_shards(sale: FlashSale) -> list[int]:
    shards = list(range(int(sale.shards)))
    _shuffle.shuffle(shards)
    return shards


def reserve_step(sale: FlashSale, shard: int, member_id: str) -> Any:
    """The order transaction's part: one unit from `shard`, one purchase counted against the member's limit."""
    sale_id, limit = sale.flash_sale_id, int(sale.per_member_limit)

    def step(tx: Any) -> None:
        tx.update(FlashStockShard(shard_pk(sale_id, shard), "STOCK"), [FlashStockShard.remaining.add(-1)],
                  FlashStockShard.remaining > 0, "flash_stock")
        tx.update(FlashPurchases(*purchases_key(member_id, sale_id)),
                  [FlashPurchases.bought.add(1), FlashPurchases.member_id.set(member_id),
                   FlashPurchases.flash_sale_id.set(sale_id)],
                  FlashPurchases.bought.does_not_exist() | (FlashPurchases.bought < limit), "flash_limit")
    return step


def release_unit(tx: Any, sale_id: str, shard: int, member_id: str) -> None:
    """The cancel transaction's part: the unit back to its shard and the purchase off the member's count."""
    tx.update(FlashStockShard(shard_pk(sale_id, shard), "STOCK"), [FlashStockShard.remaining.add(1)], None,
              "flash_stock")
    # No condition: the count was taken by this order's own reservation (and an erased member's item may be gone).
    tx.update(FlashPurchases(*purchases_key(member_id, sale_id)), [FlashPurchases.bought.add(-1)], None,
              "flash_limit")
