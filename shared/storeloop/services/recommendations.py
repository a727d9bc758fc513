"""Recommendations: what to show a member at a store, from co-purchase counts, best sellers and new products.

`GET /me/recommendations?store_id=` ranks (1) products bought together with what this member bought
(`reason: bought_together`, summed neighbour counts), then (2) the store's best sellers (`popular_at_store`),
then (3) the newest products (`new`). Never a product the member bought in the last 30 days, only products with
stock at that store. `GET /products/{sku}/related?store_id=` is the same for one product. The counts come from the
stream (`count_paid` below, called by the journeys stream consumer for each paid order and POS sale).
"""

from __future__ import annotations

from typing import Any

from storeloop.data import products, stores
from storeloop.data.recommendations import bestsellers, count_sale, neighbours, recent_skus
from storeloop.domain.copurchase import basket, ranked, recommend
from storeloop.errors import NotFound
from storeloop.schemas.recommendations import Reason, RecommendationList, RecommendationOut

STORE_CATALOGUE_LIMIT = 500  # products of one store read for the fallbacks (one Query, a few pages)


def _store_catalogue(store_id: str) -> dict[str, products.StoreStock]:
    """The store's products in stock (sku → stock item)."""
    items: dict[str, products.StoreStock] = {}
    cursor: str | None = None
    while len(items) < STORE_CATALOGUE_LIMIT:
        page, cursor = products.store_stock(store_id, 100, cursor)
        items.update({s.sku: s for s in page if int(s.stock) > 0 and getattr(s, "active", True) is not False})
        if cursor is None:
            break
    return items


def _newest(skus: list[str]) -> list[str]:
    found = products.Product.batch_get([(products.product_pk(s), "PRODUCT") for s in skus])
    created = {p.sku: p.created_at for p in found}
    return sorted(created, key=lambda s: (created[s], s), reverse=True)


def _rank(store_id: str, seeds: list[str], exclude: set[str], limit: int) -> RecommendationList:
    if stores.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")
    catalogue = _store_catalogue(store_id)
    out: list[RecommendationOut] = []
    seen = set(exclude)

    def take(skus: list[str], reason: Reason) -> None:
        for sku in skus:
            if len(out) >= limit:
                return
            item = catalogue.get(sku)
            if item is None or sku in seen:
                continue
            seen.add(sku)
            out.append(RecommendationOut(sku=sku, name=item.name, price_fen=int(item.price_fen), reason=reason))

    if seeds:
        take(recommend(seeds, neighbours(seeds), seen), "bought_together")
    take(ranked(bestsellers(store_id)), "popular_at_store")
    if len(out) < limit:
        take(_newest(list(catalogue)), "new")
    return RecommendationList(items=out)


def for_member(member_id: str, store_id: str, limit: int) -> RecommendationList:
    from storeloop.domain import clock
    from storeloop.domain.clock import CN_TZ

    recent = recent_skus(member_id, clock.now().astimezone(CN_TZ).date())
    return _rank(store_id, sorted(recent), set(recent), limit)


def related(sku: str, store_id: str, limit: int, member_id: str | None = None) -> RecommendationList:
    if not products.existing_skus([sku]):
        raise NotFound(f"product {sku} not found")
    exclude = {sku}
    if member_id:
        from storeloop.domain import clock
        from storeloop.domain.clock import CN_TZ

        exclude |= set(recent_skus(member_id, clock.now().astimezone(CN_TZ).date()))
    return _rank(store_id, [sku], exclude, limit)


def top_for_member(member_id: str, store_id: str | None) -> RecommendationOut | None:
    """The member's first recommendation (for a message action), or None."""
    if not store_id:
        return None
    try:
        items = for_member(member_id, store_id, 1).items
    except NotFound:
        return None
    return items[0] if items else None


# ---------------------------------------------------------------------------------------------- counting


def count_paid(change: dict[str, Any]) -> bool:
    """Count one paid sale (a dict from the stream consumer: order_key, member_id, store_id, lines, day)."""
    lines = change.get("lines") or []
    skus = basket(str(line.get("sku")) for line in lines)
    if not skus:
        return False
    units: dict[str, int] = {}
    for line in lines:
        units[str(line.get("sku"))] = units.get(str(line.get("sku")), 0) + int(line.get("qty") or 1)
    return count_sale(change["order_key"], change.get("member_id"), change["store_id"], skus, units,
                      change["day"])
