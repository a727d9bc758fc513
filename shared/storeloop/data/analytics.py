"""Analytics counters and schedule indexes: the keys of every analytics item, the stream records' keys and images,
the counters per campaign and per store day with the batch markers that make counting exactly-once, the lookups
that attribute orders to campaigns, and the sparse reminder indexes.

Written by the MainTable stream consumer. Beside it: each buyer's recent orders (data/analytics_buyers.py), the
admin routes' reads (data/analytics_reads.py), the nightly roll-up's reads and records (data/analytics_rollup.py).
docs/analytics.md explains the design, docs/data-model.md lists the keys. The low-level client is used because the
set of counters a write adds to differs from write to write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from storeloop.data.connection import dynamodb_client
from storeloop.data.raw import item_from_raw, item_to_raw, query_items, table_name
from storeloop.domain.sources import parse_source_key, source_key

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


def raw_key(pk: str, sk: str) -> dict[str, Any]:
    """A MainTable key in DynamoDB JSON."""
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_reasons(exc: ClientError) -> list[str | None]:
    """A cancelled transaction's reason per item, in request order (None where the item was not the cause)."""
    return [r.get("Code") if r and r.get("Code") != "None" else None
            for r in exc.response.get("CancellationReasons") or []]


def pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret


def _batch_get(keys: list[tuple[str, str]], projection: str, names: dict[str, str] | None = None
               ) -> list[dict[str, Any]]:
    """BatchGetItem of any number of keys (100 a call), unprocessed keys retried."""
    client = dynamodb_client()
    table = table_name()
    found: list[dict[str, Any]] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 100):
        request: dict[str, Any] = {table: {"Keys": [raw_key(pk, sk) for pk, sk in unique[start:start + 100]],
                                           "ProjectionExpression": projection,
                                           **({"ExpressionAttributeNames": names} if names else {})}}
        for attempt in range(CONFLICT_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=request)
            found += [item_from_raw(raw) for raw in answer.get("Responses", {}).get(table, [])]
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            pause(attempt)
        else:
            raise RuntimeError("BatchGetItem left keys unprocessed")
    return found


# ---------------------------------------------------------------------------------------------- stream records


def record_keys(record: dict[str, Any]) -> tuple[str, str]:
    """A MainTable stream record's item key (PK, SK); empty strings where absent."""
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return str((keys.get("PK") or {}).get("S", "")), str((keys.get("SK") or {}).get("S", ""))


def record_images(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A stream record's old and new images as plain values ({} where absent)."""
    body = record.get("dynamodb") or {}
    return item_from_raw(body.get("OldImage") or {}), item_from_raw(body.get("NewImage") or {})


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


def campaign_counter(campaign_id: str) -> CounterWrite:
    """A write to the campaign's totals."""
    return CounterWrite(*campaign_totals_key(campaign_id), fields={"campaign_id": campaign_id})


def campaign_store_counter(campaign_id: str, store_id: str) -> CounterWrite:
    """A write to the campaign's counters at one store."""
    return CounterWrite(*campaign_store_key(campaign_id, store_id),
                        fields={"campaign_id": campaign_id, "store_id": store_id})


def campaign_source_counter(campaign_id: str, source: str) -> CounterWrite:
    """Issue 9: a write to the campaign's counters for one source key, which the item names in its parts."""
    named = {k: v for k, v in parse_source_key(source).items() if v is not None}
    return CounterWrite(*campaign_source_key(campaign_id, source),
                        fields={"campaign_id": campaign_id, "source_key": source, **named})


def store_day_counter(store_id: str, day: str) -> CounterWrite:
    """A write to the store's day counters, listed in the roll-up's day index."""
    return CounterWrite(*store_day_key(store_id, day),
                        fields={"store_id": store_id, "date": day, "GSI1PK": day_index_pk(day),
                                "GSI1SK": f"STORE#{store_id}"})


@dataclass(frozen=True)
class BatchRange:
    """The stream records a transaction covers: first and last record's event id and sequence number."""

    first_event_id: str
    first_seq: str
    last_event_id: str
    last_seq: str
    records: int


def counter_update(write: CounterWrite, stamp: str) -> dict[str, Any]:
    """The transaction item that ADDs a counter write's numbers and SETs its attributes."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds, sets = [], []
    for i, (attr, delta) in enumerate(sorted((a, d) for a, d in write.deltas.items() if d)):
        names[f"#a{i}"], values[f":a{i}"] = attr, {"N": str(delta)}
        adds.append(f"#a{i} :a{i}")
    for i, (attr, val) in enumerate(sorted({**write.fields, "updated_at": stamp}.items())):
        names[f"#s{i}"], values[f":s{i}"] = attr, {"S": val}
        sets.append(f"#s{i} = :s{i}")
    return {"Update": {"TableName": table_name(), "Key": raw_key(write.pk, write.sk),
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
    request = _marker_puts(batch, stamp, int(time.time())) + [counter_update(w, stamp) for w in items]
    client = dynamodb_client()
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            client.transact_write_items(TransactItems=request)
            return True
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                if error_code(exc) in ("ThrottlingException", "ProvisionedThroughputExceededException") \
                        and attempt < CONFLICT_ATTEMPTS:
                    pause(attempt)
                    continue
                raise
            reasons = cancellation_reasons(exc)
            if "ConditionalCheckFailed" in reasons[:2]:
                return False
            if not any(r in RETRYABLE for r in reasons) or attempt == CONFLICT_ATTEMPTS:
                raise
            pause(attempt)
    raise AssertionError("unreachable")


def markers(first_event_id: str, last_event_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The FIRST marker keyed by this record and the LAST marker keyed by that one, if they exist (consistent)."""
    keys = [marker_key(first_event_id, "FIRST"), marker_key(last_event_id, "LAST")]
    client = dynamodb_client()
    table = table_name()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {table: {"Keys": [raw_key(*k) for k in keys], "ConsistentRead": True}}
    for attempt in range(CONFLICT_ATTEMPTS):
        answer = client.batch_get_item(RequestItems=request)
        for raw in answer.get("Responses", {}).get(table, []):
            item = item_from_raw(raw)
            found[(item["PK"], item["SK"])] = item
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            break
        pause(attempt)
    else:
        raise RuntimeError("BatchGetItem left marker keys unprocessed")
    return found.get(keys[0]), found.get(keys[1])


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


# ---------------------------------------------------------------------------------------------- records


def get_record(pk: str, sk: str) -> dict[str, Any] | None:
    """One analytics item by its key (consistent), e.g. a roll-up record."""
    raw = dynamodb_client().get_item(TableName=table_name(), Key=raw_key(pk, sk), ConsistentRead=True).get("Item")
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
            pause(attempt)
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
