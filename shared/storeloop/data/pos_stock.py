"""The till's stock counts: each update's record (its answer, for replays) and the per-sku apply on the store stock.

Keys (docs/data-model.md, "The till: stock and returns"):
- stock update `POSSTOCK#<store_id>#<update_id>` / `UPDATE`: the body's hash and the answer given.
- the counts land on the store stock item `STORE#<store_id>` / `STOCK#<sku>` (data/products.py): `stock`, and
  `pos_sequence` / `pos_update_id` / `pos_count` of the last update applied to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from storeloop.data.models import Entity
from storeloop.data.products import StoreStock, stock_key
from storeloop.domain.till import available_from_count

APPLY_ATTEMPTS = 6


class PosStockUpdate(Entity):
    store_id = UnicodeAttribute()
    update_id = UnicodeAttribute()
    sequence = NumberAttribute()
    body_hash = UnicodeAttribute()
    received_at = UnicodeAttribute()
    answer = UnicodeAttribute(null=True)


def update_key(store_id: str, update_id: str) -> tuple[str, str]:
    return f"POSSTOCK#{store_id}#{update_id}", "UPDATE"


def claim_update(store_id: str, update_id: str, sequence: int, body_hash: str, at: str) -> PosStockUpdate:
    """The update's record, written by its first delivery; a later delivery gets the record as it is."""
    item = PosStockUpdate(*update_key(store_id, update_id), store_id=store_id, update_id=update_id,
                          sequence=sequence, body_hash=body_hash, received_at=at)
    try:
        item.save(condition=PosStockUpdate.PK.does_not_exist())
        return item
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return PosStockUpdate.get(*update_key(store_id, update_id), consistent_read=True)


def finish_update(store_id: str, update_id: str, answer: str) -> None:
    PosStockUpdate(*update_key(store_id, update_id)).update(actions=[PosStockUpdate.answer.set(answer)])


@dataclass(frozen=True)
class Applied:
    sku: str
    outcome: str  # applied | stale | unknown
    stock: int | None = None


def apply_count(store_id: str, sku: str, count: int, sequence: int, update_id: str, at: str) -> Applied:
    """Set the sku's stock from the till's absolute count, unless a newer update (by sequence) is applied already.

    stock = count − reserved (never below zero): the units of unfinished orders are still on the shelf, so they
    are in the till's count, and are already out of `stock` (docs/pos.md). Conditional on `reserved` as read, so
    an order reserving at the same moment makes this read again rather than be counted twice; and on the sequence,
    so of two updates racing the newer one wins. The same update again (a replay) applies again, idempotently.
    """
    pk, sk = stock_key(store_id, sku)
    for _ in range(APPLY_ATTEMPTS):
        try:
            item = StoreStock.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return Applied(sku, "unknown")
        last = None if item.pos_sequence is None else int(item.pos_sequence)
        if last is not None and (sequence < last or (sequence == last and item.pos_update_id != update_id)):
            return Applied(sku, "stale")
        reserved = None if item.reserved is None else int(item.reserved)
        new = available_from_count(count, reserved or 0)
        newer_or_same = (StoreStock.pos_sequence.does_not_exist() | (StoreStock.pos_sequence < sequence)
                         | ((StoreStock.pos_sequence == sequence) & (StoreStock.pos_update_id == update_id)))
        held = StoreStock.reserved.does_not_exist() if reserved is None else StoreStock.reserved == reserved
        try:
            item.update(actions=[StoreStock.stock.set(new), StoreStock.pos_sequence.set(sequence),
                                 StoreStock.pos_update_id.set(update_id), StoreStock.pos_count.set(count),
                                 StoreStock.pos_synced_at.set(at)],
                        condition=StoreStock.PK.exists() & newer_or_same & held)
            return Applied(sku, "applied", new)
        except UpdateError as exc:
            if exc.cause_response_code not in ("ConditionalCheckFailedException", "TransactionConflictException"):
                raise
            continue  # an order or another update moved it: read again
    raise StockBusy(sku)


class StockBusy(Exception):
    """The sku kept changing under us (orders at that instant); the till retries the update."""
