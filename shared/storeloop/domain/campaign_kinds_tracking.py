"""(issue 10) The campaign kinds' numbers, read off MainTable's stream: per store and per China day, counted exactly
once by the analytics consumer (services/analytics_stream.py) in the store day counters it already keeps. Pure.

- a group opened (its item inserted), formed or failed (its status leaving forming);
- a flash sale's unit sold (its order paid: units and what was paid; a refund of it takes both back);
- a reward redeemed (the redemption inserted: one, and the points spent), at the store it names.
"""

from __future__ import annotations

from typing import Any

from storeloop.domain.clock import CN_TZ, parse_rfc3339

STORE_DAY_FIELDS = ("groups_opened", "groups_formed", "groups_failed", "flash_units", "flash_revenue_fen",
                    "rewards_redeemed", "points_spent")
RELEVANT = (("GROUP#", "GROUP"), ("REDEMPTION#", "REDEMPTION"))

Counts = tuple[str, str, tuple[tuple[str, int], ...]]  # store id, day, (counter, amount)...


def _day(value: str) -> str:
    return parse_rfc3339(value).astimezone(CN_TZ).date().isoformat()


def recognise(pk: str, event: Any, old: dict[str, Any], new: dict[str, Any]) -> list[Counts]:
    if pk.startswith("GROUP#"):
        return _group(event, old, new)
    if pk.startswith("REDEMPTION#"):
        return _redemption(event, new)
    return []


def _group(event: Any, old: dict[str, Any], new: dict[str, Any]) -> list[Counts]:
    if event == "INSERT" and new.get("opened_at"):
        return [(new["store_id"], _day(new["opened_at"]), (("groups_opened", 1),))]
    was, now = old.get("status"), new.get("status")
    if event == "MODIFY" and was == "forming" and now == "formed" and new.get("formed_at"):
        return [(new["store_id"], _day(new["formed_at"]), (("groups_formed", 1),))]
    if event == "MODIFY" and was == "forming" and now == "failed" and new.get("failed_at"):
        return [(new["store_id"], _day(new["failed_at"]), (("groups_failed", 1),))]
    return []


def _redemption(event: Any, new: dict[str, Any]) -> list[Counts]:
    if event == "INSERT" and new.get("store_id"):
        return [(new["store_id"], _day(new["created_at"]),
                 (("rewards_redeemed", 1), ("points_spent", int(new["points_spent"]))))]
    return []


def order_counts(old: dict[str, Any], new: dict[str, Any]) -> list[Counts]:
    """A flash sale's order paid, or refunded after it was paid (an automatic refund was never counted)."""
    if new.get("campaign_kind") != "flash_sale":
        return []
    units = sum(int(line.get("qty", 0)) for line in new.get("items") or [])
    was, now = old.get("status"), new.get("status")
    if was != "paid" and now == "paid" and new.get("paid_at"):
        return [(new["store_id"], _day(new["paid_at"]),
                 (("flash_units", units), ("flash_revenue_fen", int(new["payable_fen"]))))]
    if was != "refunded" and now == "refunded" and not new.get("auto_refund") and new.get("paid_at"):
        return [(new["store_id"], _day(new["refunded_at"]),
                 (("flash_units", -units), ("flash_revenue_fen", -int(new["payable_fen"]))))]
    return []
