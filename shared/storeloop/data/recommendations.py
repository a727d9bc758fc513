"""Co-purchase counts and what recommendations read (docs/recommendations.md).

Keys (docs/data-model.md, "Journeys and recommendations"):
- neighbours   `PRODUCT#<sku>` / `NEIGHBOURS`: `counts` {sku: n}, at most `domain.copurchase.NEIGHBOURS`
- bestsellers  `STORE#<store_id>` / `BESTSELLERS`: `counts` {sku: units sold}, at most `BESTSELLERS`
- recent       `MEMBER#<member_id>` / `RECENT_SKUS`: {sku: last purchase day} of the last 30 days (the member's
               own partition: an erasure deletes it; the counts above never name a member)
- marker       `COPURCHASE#<order key>` / `MARKER`: this sale was counted (TTL 14 days: longer than the stream's
               24 h retention and any retry)

One sale is one transaction: the marker (condition: not there) and every item it changes, each conditional on
the `version` read, so a redelivered record counts nothing twice and two consumers never lose an update (the loser
reads again and retries).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, cast

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data.keys import member_pk
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.data.products import product_pk
from storeloop.data.stores import store_pk
from storeloop.domain.copurchase import BESTSELLERS, neighbour_updates, space_saving

NEIGHBOURS_SK = "NEIGHBOURS"
BESTSELLERS_SK = "BESTSELLERS"
RECENT_SK = "RECENT_SKUS"
RECENT_DAYS = 30
MARKER_TTL_SECONDS = 14 * 86_400
ATTEMPTS = 5
CONDITION_FAILED = "ConditionalCheckFailed"


class Counts(Entity):
    """Neighbours of a product or best sellers of a store: a bounded map and a version for optimistic writes."""

    counts = MapAttribute(default=dict)  # type: ignore[var-annotated]
    version = NumberAttribute(default=0)


class RecentSkus(Entity):
    days = MapAttribute(default=dict)  # type: ignore[var-annotated]  # sku → YYYY-MM-DD
    version = NumberAttribute(default=0)


class SaleMarker(Entity):
    order_key = UnicodeAttribute()
    expires_at = NumberAttribute()


class Contended(Exception):
    """The items kept changing under this sale: the stream retries the record."""


def _as_counts(raw: Any) -> dict[str, int]:
    values = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {str(k): int(v) for k, v in values.items()}


def _read(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for item in Counts.batch_get(keys, consistent_read=True):
        found[(item.PK, item.SK)] = item
    return found


def _put_versioned(tx: TransactWrite, model: type[Entity], pk: str, sk: str, current: Any, **fields: Any) -> None:
    version = int(current.version) if current is not None else 0
    item = model(pk, sk, version=version + 1, **fields)
    condition = model.PK.does_not_exist() if current is None else (model.version == version)  # type: ignore[attr-defined]
    tx.save(item, condition=condition)


def count_sale(order_key: str, member_id: str | None, store_id: str, skus: list[str], units: dict[str, int],
               day: date) -> bool:
    """Count one paid sale: neighbours of each of its products, the store's best sellers, the member's recent
    products. False if it was counted before. Raises Contended after ATTEMPTS lost races."""
    pairs = neighbour_updates(skus)
    for _ in range(ATTEMPTS):
        keys = [(product_pk(s), NEIGHBOURS_SK) for s in pairs] + [(store_pk(store_id), BESTSELLERS_SK)]
        current = _read(keys)
        recent = None
        if member_id:
            recent = next(iter(RecentSkus.batch_get([(member_pk(member_id), RECENT_SK)], consistent_read=True)),
                          None)
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.save(SaleMarker(f"COPURCHASE#{order_key}", "MARKER", order_key=order_key,
                                   expires_at=int(time.time()) + MARKER_TTL_SECONDS),
                        condition=SaleMarker.PK.does_not_exist())
                for sku, others in pairs.items():
                    old = current.get((product_pk(sku), NEIGHBOURS_SK))
                    _put_versioned(tx, Counts, product_pk(sku), NEIGHBOURS_SK, old,
                                   counts=space_saving(_as_counts(old.counts) if old else {}, others))
                old = current.get((store_pk(store_id), BESTSELLERS_SK))
                sellers = _as_counts(old.counts) if old else {}
                for sku in skus:
                    for _unit in range(min(100, max(1, units.get(sku, 1)))):  # a bulk buy counts up to 100
                        sellers = space_saving(sellers, [sku], BESTSELLERS)
                _put_versioned(tx, Counts, store_pk(store_id), BESTSELLERS_SK, old, counts=sellers)
                if member_id:
                    kept = {k: str(v) for k, v in (recent.days.as_dict() if recent else {}).items()
                            if str(v) >= (day - timedelta(days=RECENT_DAYS)).isoformat()}
                    kept.update({s: day.isoformat() for s in skus})
                    _put_versioned(tx, RecentSkus, member_pk(member_id), RECENT_SK, recent, days=kept)
            return True
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == CONDITION_FAILED:
                return False  # the marker: counted before
            if CONDITION_FAILED not in codes and "TransactionConflict" not in codes:
                raise
    raise Contended(order_key)


def neighbours(skus: Iterable[str]) -> dict[str, dict[str, int]]:
    """sku → its kept neighbours and counts."""
    keys = [(product_pk(s), NEIGHBOURS_SK) for s in dict.fromkeys(skus)]
    if not keys:
        return {}
    return {item.PK.removeprefix("PRODUCT#"): _as_counts(item.counts) for item in Counts.batch_get(keys)}


def bestsellers(store_id: str) -> dict[str, int]:
    found = list(Counts.batch_get([(store_pk(store_id), BESTSELLERS_SK)]))
    return _as_counts(found[0].counts) if found else {}


def recent_skus(member_id: str, today: date) -> dict[str, str]:
    """The member's products bought in the last 30 days (sku → day)."""
    found = list(RecentSkus.batch_get([(member_pk(member_id), RECENT_SK)]))
    if not found:
        return {}
    floor = (today - timedelta(days=RECENT_DAYS)).isoformat()
    return {str(k): str(v) for k, v in cast(RecentSkus, found[0]).days.as_dict().items() if str(v) >= floor}
