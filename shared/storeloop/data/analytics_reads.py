"""The admin analytics routes' reads: a campaign's counter items, a store's day counters over a range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storeloop.data.analytics import campaign_totals_key, store_day_key
from storeloop.data.raw import query_items


@dataclass(frozen=True)
class CampaignCounters:
    """A campaign's counter items: its totals ({} before its first count), per store (by store id) and per source
    (by source key)."""

    totals: dict[str, Any]
    stores: list[dict[str, Any]]
    sources: list[dict[str, Any]]


def campaign_counters(campaign_id: str) -> CampaignCounters:
    """The campaign's totals item, its per-store and its per-source items: one Query on the campaign's partition."""
    rows = list(query_items(KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                            ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"},
                                                       ":p": {"S": "ANALYTICS#"}}))
    totals_sk = campaign_totals_key(campaign_id)[1]
    return CampaignCounters(
        totals=next((r for r in rows if r["SK"] == totals_sk), {}),
        stores=sorted((r for r in rows if r["SK"].startswith("ANALYTICS#STORE#")), key=lambda r: r["store_id"]),
        sources=sorted((r for r in rows if r["SK"].startswith("ANALYTICS#SOURCE#")), key=lambda r: r["SK"]))


def store_days(store_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """A store's day counters from `first` to `last` (YYYY-MM-DD, inclusive): one Query on its day partition."""
    pk, _ = store_day_key(store_id, first)
    return list(query_items(KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
                       ExpressionAttributeValues={":pk": {"S": pk}, ":a": {"S": f"DAY#{first}"},
                                                  ":b": {"S": f"DAY#{last}"}}))
