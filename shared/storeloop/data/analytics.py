"""Analytics and schedule indexes: counters per campaign and per store day, the stream batch markers that make counting
exactly-once, each buyer's recent paid orders, the nightly roll-up's records, and the sparse reminder indexes.

Written by the MainTable stream consumer (and the nightly roll-up), read by the admin analytics routes and the
schedules; docs/analytics.md explains the design, docs/data-model.md lists the keys. The low-level client is used
because the set of counters a write adds to differs from write to write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from storeloop.data.connection import dynamodb_client
from storeloop.data.raw import item_from_raw, item_to_raw, query_items, table_name, value_to_raw
from storeloop.domain.sources import source_key

CONFLICT_ATTEMPTS = 6
RETRYABLE = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                       "RequestLimitExceeded"})
EXPIRY_SHARDS = 10  # a flash sale's coupons share one valid_until: spread their index items over 10 partitions
MARKER_TTL_SECONDS = 3 * 86_400  # DynamoDB Streams keep records 24 h; a marker only has to outlive a redelivery


# ---------------------------------------------------------------------------------------------- keys


def campaign_totals_key(campaign_id: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}", "ANALYTICS#TOTAL"


def campaign_store_key(campaign_id: str, store_id: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}", f"ANALYTICS#STORE#{store_id}"


def campaign_source_key(campaign_id: str, source: str) -> tuple[str, str]:
    """Issue 9: the campaign's counters for one source (`domain.sources.source_key`)."""
    return f"CAMPAIGN#{campaign_id}", f"ANALYTICS#SOURCE#{source}"


def store_day_key(store_id: str, day: str) -> tuple[str, str]:
    return f"STORE#{store_id}#ANALYTICS", f"DAY#{day}"


def day_index_pk(day: str) -> str:
    """GSI1 partition listing the store days of one date (what the nightly roll-up closes)."""
    return f"ANALYTICS#DAY#{day}"


def buyer_key(member_id: str) -> tuple[str, str]:
    # In the member's own partition: the export lists it and the erasure deletes it with the rest.
    return f"MEMBER#{member_id}", "ANALYTICS#BUYER"


def marker_key(event_id: str, end: str) -> tuple[str, str]:
    """A batch marker: `end` is FIRST (keyed by the batch's first record) or LAST (by its last record)."""
    return f"ANALYTICS#BATCH#{event_id}", end


def brand_day_key(day: str) -> tuple[str, str]:
    return "ANALYTICS#BRAND", f"DAY#{day}"


def snapshot_key(campaign_id: str, day: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}#SNAPSHOTS", day


def expiry_pk(day: str, shard: int) -> str:
    return f"EXPIRY#{day}#{shard:02d}"


def visit_reminder_pk(hour: str) -> str:
    """`hour` is the slot's local hour, `YYYY-MM-DDTHH`."""
    return f"VISITREMIND#{hour}"


# ---------------------------------------------------------------------------------------------- plumbing


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reasons(exc: ClientError) -> list[str | None]:
    return [r.get("Code") if r and r.get("Code") != "None" else None
            for r in exc.response.get("CancellationReasons") or []]


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret


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


def _batch_get(keys: list[tuple[str, str]], projection: str, names: dict[str, str] | None = None
               ) -> list[dict[str, Any]]:
    """BatchGetItem of any number of keys (100 a call), unprocessed keys retried."""
    client = dynamodb_client()
    table = table_name()
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 100):
        request: dict[str, Any] = {table: {"Keys": [_key(pk, sk) for pk, sk in unique[start:start + 100]],
                                           "ProjectionExpression": projection,
                                           **({"ExpressionAttributeNames": names} if names else {})}}
        for attempt in range(CONFLICT_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=request)
            found += [item_from_raw(raw) for raw in answer.get("Responses", {}).get(table, [])]
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            _pause(attempt)
        else:
            raise RuntimeError("BatchGetItem left keys unprocessed")
    return found


# ---------------------------------------------------------------------------------------------- counters


@dataclass
class CounterWrite:
    """One counter item's share of a batch: numbers to ADD, and descriptive attributes to SET."""

    pk: str
    sk: str
    deltas: dict[str, int] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, amount: int) -> None:
        self.deltas[name] = self.deltas.get(name, 0) + amount

    def is_empty(self) -> bool:
        return not any(self.deltas.values())


@dataclass(frozen=True)
class BatchRange:
    """The stream records a transaction covers: first and last record's event id and sequence number."""

    first_event_id: str
    first_seq: str
    last_event_id: str
    last_seq: str
    records: int


def _update(write: CounterWrite, stamp: str) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds, sets = [], []
    for i, (attr, delta) in enumerate(sorted((a, d) for a, d in write.deltas.items() if d)):
        names[f"#a{i}"], values[f":a{i}"] = attr, {"N": str(delta)}
        adds.append(f"#a{i} :a{i}")
    for i, (attr, val) in enumerate(sorted({**write.fields, "updated_at": stamp}.items())):
        names[f"#s{i}"], values[f":s{i}"] = attr, {"S": val}
        sets.append(f"#s{i} = :s{i}")
    return {"Update": {"TableName": table_name(), "Key": _key(write.pk, write.sk),
                       "UpdateExpression": f"ADD {', '.join(adds)} SET {', '.join(sets)}",
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def _marker_puts(batch: BatchRange, stamp: str, now_s: int) -> list[dict[str, Any]]:
    common = {"first_event_id": batch.first_event_id, "first_seq": batch.first_seq,
              "last_event_id": batch.last_event_id, "last_seq": batch.last_seq, "records": batch.records,
              "applied_at": stamp, "expires_at": now_s + MARKER_TTL_SECONDS}
    puts = []
    for event_id, end in ((batch.first_event_id, "FIRST"), (batch.last_event_id, "LAST")):
        pk, sk = marker_key(event_id, end)
        puts.append({"Put": {"TableName": table_name(), "Item": item_to_raw({"PK": pk, "SK": sk, **common}),
                             "ConditionExpression": "attribute_not_exists(PK)"}})
    return puts


def commit_counters(batch: BatchRange, writes: list[CounterWrite], stamp: str) -> bool:
    """ADD the counters and put the batch's two markers, all or nothing; False if the markers exist already (this
    range was applied before: nothing changes). At most 98 counter items (a transaction takes 100)."""
    items = [w for w in writes if not w.is_empty()]
    if len(items) > 98:
        raise ValueError("a transaction takes at most 98 counter items besides its markers")
    request = _marker_puts(batch, stamp, int(time.time())) + [_update(w, stamp) for w in items]
    client = dynamodb_client()
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            client.transact_write_items(TransactItems=request)
            return True
        except ClientError as exc:
            if _error_code(exc) != "TransactionCanceledException":
                if _error_code(exc) in ("ThrottlingException", "ProvisionedThroughputExceededException") \
                        and attempt < CONFLICT_ATTEMPTS:
                    _pause(attempt)
                    continue
                raise
            reasons = _reasons(exc)
            if "ConditionalCheckFailed" in reasons[:2]:
                return False
            if not any(r in RETRYABLE for r in reasons) or attempt == CONFLICT_ATTEMPTS:
                raise
            _pause(attempt)
    raise AssertionError("unreachable")


def markers(first_event_id: str, last_event_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The FIRST marker keyed by this record and the LAST marker keyed by that one, if they exist (consistent)."""
    keys = [marker_key(first_event_id, "FIRST"), marker_key(last_event_id, "LAST")]
    client = dynamodb_client()
    table = table_name()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {table: {"Keys": [_key(*k) for k in keys], "ConsistentRead": True}}
    for attempt in range(CONFLICT_ATTEMPTS):
        answer = client.batch_get_item(RequestItems=request)
        for raw in answer.get("Responses", {}).get(table, []):
            item = item_from_raw(raw)
            found[(item["PK"], item["SK"])] = item
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            break
        _pause(attempt)
    else:
        raise RuntimeError("BatchGetItem left marker keys unprocessed")
    return found.get(keys[0]), found.get(keys[1])


# ---------------------------------------------------------------------------------------------- buyers


@dataclass
class Buyer:
    """A member's paid orders of the last 30 days (order key → paid_at, campaigns) and the campaigns it already
    counts as a repeat buyer of; `version` guards the read-modify-write."""

    member_id: str
    paid: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeat_campaigns: set[str] = field(default_factory=set)
    version: int = 0


def get_buyer(member_id: str) -> Buyer:
    raw = dynamodb_client().get_item(TableName=table_name(), Key=_key(*buyer_key(member_id)),
                                     ConsistentRead=True).get("Item")
    if not raw:
        return Buyer(member_id)
    item = item_from_raw(raw)
    paid = {k: {"at": str(v.get("at")), "campaigns": list(v.get("campaigns") or [])}
            for k, v in (item.get("paid") or {}).items()}
    return Buyer(member_id, paid, set(item.get("repeat_campaigns") or []), int(item.get("version", 0)))


def save_buyer(buyer: Buyer, newly_repeat: Iterable[str], stamp: str) -> str:
    """Write the buyer (if still at the version read) and count it once for each newly repeat campaign, in one
    transaction, only while the member exists. Returns "saved", "changed" (read again and retry) or "gone"."""
    pk, sk = buyer_key(buyer.member_id)
    item: dict[str, Any] = {"PK": pk, "SK": sk, "member_id": buyer.member_id, "paid": buyer.paid,
                            "version": buyer.version + 1, "updated_at": stamp}
    if buyer.repeat_campaigns:
        item["repeat_campaigns"] = sorted(buyer.repeat_campaigns)
    condition = ("attribute_not_exists(PK)" if buyer.version == 0 else "version = :v")
    put: dict[str, Any] = {"TableName": table_name(), "Item": item_to_raw(item), "ConditionExpression": condition}
    if buyer.version:
        put["ExpressionAttributeValues"] = {":v": {"N": str(buyer.version)}}
    request: list[dict[str, Any]] = [
        {"ConditionCheck": {"TableName": table_name(), "Key": _key(f"MEMBER#{buyer.member_id}", "PROFILE"),
                            "ConditionExpression": "attribute_exists(PK)"}},
        {"Put": put},
    ]
    for campaign_id in sorted(set(newly_repeat)):
        write = CounterWrite(*campaign_totals_key(campaign_id), fields={"campaign_id": campaign_id})
        write.add("repeat_buyers_30d", 1)
        request.append(_update(write, stamp))
    try:
        dynamodb_client().transact_write_items(TransactItems=request)
        return "saved"
    except ClientError as exc:
        if _error_code(exc) != "TransactionCanceledException":
            raise
        reasons = _reasons(exc)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return "gone"
        if "ConditionalCheckFailed" in reasons or any(r in RETRYABLE for r in reasons):
            return "changed"
        raise


# ---------------------------------------------------------------------------------------------- lookups


def campaigns_of_coupons(coupon_ids: Iterable[str], sources: dict[str, str] | None = None) -> dict[str, str]:
    """coupon id → campaign id (one BatchGetItem per 100 coupons); issue 9: `sources` gets coupon id → source key."""
    keys = [(f"COUPON#{c}", "COUPON") for c in coupon_ids]
    found = _batch_get(keys, "coupon_id, campaign_id, source_channel, source_store_id, source_ref")
    if sources is not None:
        sources.update({i["coupon_id"]: source_key(i.get("source_channel"), i.get("source_store_id"),
                                                   i.get("source_ref")) for i in found})
    return {i["coupon_id"]: i["campaign_id"] for i in found if i.get("campaign_id")}


def coupon_ids_of_codes(codes: Iterable[str]) -> dict[str, str]:
    """12-digit coupon code → coupon id."""
    found = _batch_get([(f"CODE#{c}", "CODE") for c in codes], "PK, coupon_id")
    return {i["PK"].removeprefix("CODE#"): i["coupon_id"] for i in found}


# ---------------------------------------------------------------------------------------------- route reads


def campaign_counters(campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's totals item and its per-store items: one Query on the campaign's partition."""
    return list(query_items(KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                       ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"},
                                                  ":p": {"S": "ANALYTICS#"}}))


def store_days(store_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """A store's day counters from `first` to `last` (YYYY-MM-DD, inclusive): one Query on its day partition."""
    pk, _ = store_day_key(store_id, first)
    return list(query_items(KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
                       ExpressionAttributeValues={":pk": {"S": pk}, ":a": {"S": f"DAY#{first}"},
                                                  ":b": {"S": f"DAY#{last}"}}))


# ---------------------------------------------------------------------------------------------- roll-up


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
        TableName=table_name(), Key=_key(pk, sk),
        UpdateExpression="SET closed_at = :t, #src = :s, drift = :d",
        ConditionExpression="attribute_exists(PK)",
        ExpressionAttributeNames={"#src": "source"},
        ExpressionAttributeValues={":t": {"S": stamp}, ":s": value_to_raw(source),
                                   ":d": value_to_raw(drift)})


def put_record(pk: str, sk: str, values: dict[str, Any]) -> None:
    """Put a roll-up record (brand day total, campaign snapshot): recomputed and overwritten on every run."""
    dynamodb_client().put_item(TableName=table_name(), Item=item_to_raw({"PK": pk, "SK": sk, **values}))


def get_record(pk: str, sk: str) -> dict[str, Any] | None:
    raw = dynamodb_client().get_item(TableName=table_name(), Key=_key(pk, sk), ConsistentRead=True).get("Item")
    return item_from_raw(raw) if raw else None


# ---------------------------------------------------------------------------------------------- reminder indexes


def put_index_items(items: list[dict[str, Any]]) -> None:
    """BatchWriteItem puts (25 a call, unprocessed retried). Index items are rewritten whole: idempotent."""
    client = dynamodb_client()
    table = table_name()
    unique = list({(i["PK"], i["SK"]): i for i in items}.values())
    for start in range(0, len(unique), 25):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": item_to_raw(i)}} for i in unique[start:start + 25]]}
        for attempt in range(CONFLICT_ATTEMPTS):
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
            _pause(attempt)
        else:
            raise RuntimeError("BatchWriteItem left items unprocessed")


def expiring_coupon_ids(day: str, first: str, before: str) -> list[str]:
    """Coupons indexed under `day` whose valid_until is in [first, before): one Query per expiry shard."""
    ids: list[str] = []
    for shard in range(EXPIRY_SHARDS):
        ids += [i["coupon_id"] for i in query_items(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
            ExpressionAttributeValues={":pk": {"S": expiry_pk(day, shard)}, ":a": {"S": first},
                                       ":b": {"S": before}})]
    return ids


def appointments_in_hour(hour: str) -> list[str]:
    """Appointment ids indexed under a slot hour (`YYYY-MM-DDTHH`)."""
    return [i["appointment_id"] for i in query_items(KeyConditionExpression="PK = :pk",
                                                ExpressionAttributeValues={":pk": {"S": visit_reminder_pk(hour)}})]
