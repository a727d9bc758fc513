"""The nightly roll-up's storage: a date's store days, the source counts it checks them by, and its records.

Reads: the store days of a date (GSI1), COUNT queries of verifications and check-ins, the campaigns live that day.
Writes: the store day's closing, the brand's day total, each campaign's snapshot.
"""

from __future__ import annotations

from typing import Any

from storeloop.data.analytics import brand_day_key, day_index_pk, raw_key, snapshot_key, store_day_key
from storeloop.data.connection import dynamodb_client
from storeloop.data.raw import item_to_raw, query_items, table_name, value_to_raw


def _count(**kwargs: Any) -> int:
    client = dynamodb_client()
    total, start = 0, None
    while True:
        page = client.query(TableName=table_name(), Select="COUNT", **kwargs,
                            **({"ExclusiveStartKey": start} if start else {}))
        total += int(page.get("Count", 0))
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def store_days_on(day: str) -> list[dict[str, Any]]:
    """Every store day counter of one date (GSI1, the roll-up's day index)."""
    return list(query_items(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                       ExpressionAttributeValues={":pk": {"S": day_index_pk(day)}}))


def count_store_redemptions(store_id: str, day: str) -> int:
    """Verifications at the store on `day` that still stand (not reversed): from the verification index."""
    return _count(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :d)",
                  FilterExpression="attribute_not_exists(reversed_at)",
                  ExpressionAttributeValues={":pk": {"S": f"STORE#{store_id}#VERIFICATIONS"},
                                             ":d": {"S": f"{day}T"}})


def count_campaign_redemptions(campaign_id: str) -> int:
    """The campaign's verifications that still stand, over its whole life (GSI2, COUNT only)."""
    return _count(IndexName="GSI2", KeyConditionExpression="GSI2PK = :pk",
                  FilterExpression="attribute_not_exists(reversed_at)",
                  ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}#VERIFICATIONS"}})


def count_store_visits(store_id: str, day: str) -> int:
    """Appointments of the store day that were checked in (GSI2 store-day index)."""
    return _count(IndexName="GSI2", KeyConditionExpression="GSI2PK = :pk", FilterExpression="#s = :c",
                  ExpressionAttributeNames={"#s": "status"},
                  ExpressionAttributeValues={":pk": {"S": f"STORE#{store_id}#APPTS#{day}"},
                                             ":c": {"S": "checked_in"}})


def campaigns_live_on(day_start: str, day_end: str) -> list[dict[str, Any]]:
    """Published campaigns whose window overlaps the day: GSI1 `CAMPAIGNS#PUBLISHED` ends after its start,
    filtered to those starting before its end."""
    return list(query_items(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk AND GSI1SK > :start",
                       FilterExpression="starts_at <= :end",
                       ProjectionExpression="campaign_id, starts_at, ends_at",
                       ExpressionAttributeValues={":pk": {"S": "CAMPAIGNS#PUBLISHED"}, ":start": {"S": day_start},
                                                  ":end": {"S": day_end}}))


def close_store_day(store_id: str, day: str, source: dict[str, int], drift: dict[str, dict[str, int]],
                    stamp: str) -> None:
    """Record on the store day what the roll-up found (idempotent: the same values set again)."""
    pk, sk = store_day_key(store_id, day)
    dynamodb_client().update_item(
        TableName=table_name(), Key=raw_key(pk, sk),
        UpdateExpression="SET closed_at = :t, #src = :s, drift = :d",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeNames={"#src": "source"},
        ExpressionAttributeValues={":t": {"S": stamp}, ":s": value_to_raw(source),
                                   ":d": value_to_raw(drift)})


def put_brand_day(day: str, values: dict[str, Any]) -> None:
    """Put the brand's day total: recomputed and overwritten on every run."""
    _put(*brand_day_key(day), values)


def put_campaign_snapshot(campaign_id: str, day: str, values: dict[str, Any]) -> None:
    """Put a campaign's snapshot of `day`: recomputed and overwritten on every run."""
    _put(*snapshot_key(campaign_id, day), values)


def _put(pk: str, sk: str, values: dict[str, Any]) -> None:
    dynamodb_client().put_item(TableName=table_name(), Item=item_to_raw({"PK": pk, "SK": sk, **values}))
