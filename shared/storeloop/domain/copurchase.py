"""Item-to-item co-purchase counts, bounded per product (pure rules; `data/recommendations.py` stores them).

The classic "bought together" of Linden, Smith and York (Amazon, 2003): for every paid basket, each pair of
distinct products in it counts once for both. A full table of pairs grows with the square of the catalogue, so
each product keeps only its top `NEIGHBOURS` neighbours with the Space-Saving rule (Metwally, Agrawal and
El Abbadi, 2005): a neighbour already kept is incremented; a new one takes a free place, or else replaces the
neighbour with the smallest count and starts from that count + 1. The counts of the true top neighbours are
then overestimated by at most the smallest kept count, and every neighbour bought together more often than
(pairs seen / NEIGHBOURS) is kept: the product's item stays the same size (≤ 1 KB) after millions of sales.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

NEIGHBOURS: Final = 30  # kept per product: a 1 KB item (sku ≤ 20 chars + a number each)
MAX_BASKET: Final = 20  # distinct products of one basket that count (a transaction writes one item each + a marker)
BESTSELLERS: Final = 50  # kept per store, by the same rule


def basket(skus: Iterable[str]) -> list[str]:
    """The distinct products of a basket that count, in a stable order (the first MAX_BASKET)."""
    return list(dict.fromkeys(s for s in skus if s))[:MAX_BASKET]


def space_saving(counts: Mapping[str, int], add: Iterable[str], capacity: int = NEIGHBOURS) -> dict[str, int]:
    """`counts` after one more occurrence of each of `add`, keeping at most `capacity` entries."""
    out = dict(counts)
    for key in add:
        if key in out:
            out[key] += 1
        elif len(out) < capacity:
            out[key] = 1
        else:
            smallest = min(out, key=lambda k: (out[k], k))
            floor = out.pop(smallest)
            out[key] = floor + 1
    return out


def neighbour_updates(skus: Iterable[str]) -> dict[str, list[str]]:
    """product → the products it was bought with in this basket."""
    items = basket(skus)
    return {sku: [other for other in items if other != sku] for sku in items if len(items) > 1}


def ranked(counts: Mapping[str, int]) -> list[str]:
    """Keys by count, highest first (ties by key, so the order is stable)."""
    return sorted(counts, key=lambda k: (-counts[k], k))


def recommend(bought: Iterable[str], neighbours: Mapping[str, Mapping[str, int]], exclude: set[str]) -> list[str]:
    """Products bought together with what the member bought: summed neighbour counts, minus `exclude`."""
    score: dict[str, int] = {}
    for sku in bought:
        for other, n in (neighbours.get(sku) or {}).items():
            if other not in exclude:
                score[other] = score.get(other, 0) + int(n)
    return ranked(score)
