"""DynamoDB stream event sources as Lambda runs them, over the real Streams API of DynamoDB Local.

Per source (one function reading one table's stream): shards in order (a parent before its children), the
records of a shard in order, at most BatchSize per invocation, FilterCriteria applied before the function sees a
record, and the template's failure handling:

- `FunctionResponseTypes: [ReportBatchItemFailures]`: the records before the first reported one are done; the next
  delivery starts at it.
- `BisectBatchOnFunctionError`: a batch that fails is split in two halves delivered one after the other, and so on
  until the failing record is alone in its batch.
- `MaximumRetryAttempts`: a single-record batch (or any batch, without bisection) that still fails after this many
  retries is skipped, and `DestinationConfig.OnFailure` (SQS) gets Lambda's failure record naming the shard and
  sequence numbers. Lambda's default, -1, retries until the record expires; locally a drain is bounded by its rounds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("local")


def matches(pattern: Any, value: Any) -> bool:
    """An EventBridge-style filter pattern (what Lambda's FilterCriteria take) against a record.

    Supported: nested objects, lists of literals, {"prefix": ...}, {"exists": bool}, {"anything-but": [...]}.
    An operator this does not know matches (the function then sees the record, as without a filter)."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        for key, sub in pattern.items():
            if isinstance(sub, list) and any(isinstance(c, dict) and "exists" in c for c in sub):
                want = next(c["exists"] for c in sub if isinstance(c, dict) and "exists" in c)
                if (key in value) != bool(want):
                    return False
                continue
            if key not in value or not matches(sub, value[key]):
                return False
        return True
    if isinstance(pattern, list):
        return any(_one(choice, value) for choice in pattern)
    return bool(pattern == value)


def _one(choice: Any, value: Any) -> bool:
    if isinstance(choice, dict):
        if "prefix" in choice:
            return isinstance(value, str) and value.startswith(str(choice["prefix"]))
        if "anything-but" in choice:
            banned = choice["anything-but"]
            return value not in (banned if isinstance(banned, list) else [banned])
        return True
    return bool(choice == value)


@dataclass
class StreamSource:
    table: str  # the table's logical id
    function: str  # the function's logical id
    batch_size: int = 100
    max_retries: int = -1
    bisect: bool = False
    partial: bool = False  # ReportBatchItemFailures
    on_failure: str | None = None  # queue logical id (DestinationConfig.OnFailure, SQS)
    filters: list[Any] = field(default_factory=list)  # parsed FilterCriteria patterns; empty: every record
    checkpoints: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number done
    closed: set[str] = field(default_factory=set)  # shards read to their end
    window: int = 0  # records to deliver next (bisection shrinks it); 0: batch_size
    splits: list[int] = field(default_factory=list)  # sizes of the second halves still to deliver, innermost last
    attempts: int = 0  # failed deliveries of the record at the checkpoint
    invocations: int = 0
    discarded: int = 0  # records skipped after their retries, sent to on_failure

    @classmethod
    def from_event(cls, table: str, function: str, props: dict[str, Any]) -> StreamSource:
        filters = [json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else f.get("Pattern")
                   for f in ((props.get("FilterCriteria") or {}).get("Filters") or [])]
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if isinstance(on_failure, dict) and "Fn::GetAtt" in on_failure:
            on_failure = on_failure["Fn::GetAtt"][0]
        return cls(table=table, function=function, batch_size=int(props.get("BatchSize", 100)),
                   max_retries=int(props.get("MaximumRetryAttempts", -1)),
                   bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                   partial="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                   on_failure=on_failure if isinstance(on_failure, str) else None, filters=filters)

    def wanted(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(matches(p, record) for p in self.filters)


Invoke = Callable[[list[dict[str, Any]]], Any]
Discard = Callable[[StreamSource, str, list[dict[str, Any]], str], None]


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _ordered(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children (a child's records follow its parent's)."""
    by_id = {s["ShardId"]: s for s in shards}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(shard: dict[str, Any]) -> None:
        if shard["ShardId"] in seen:
            return
        seen.add(shard["ShardId"])
        parent = by_id.get(shard.get("ParentShardId") or "")
        if parent is not None:
            visit(parent)
        out.append(shard)

    for s in shards:
        visit(s)
    return out


def poll_once(streams: Any, stream_arn: str, source: StreamSource, shape: Callable[[dict], dict],
              invoke: Invoke, discard: Discard) -> int:
    """One delivery for `source`: 1 if the function was invoked (or records were filtered out or skipped)."""
    shards: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        desc = streams.describe_stream(**kwargs)["StreamDescription"]
        shards.extend(desc.get("Shards") or [])
        if not desc.get("LastEvaluatedShardId"):
            break
        kwargs["ExclusiveStartShardId"] = desc["LastEvaluatedShardId"]
    listed = {s["ShardId"] for s in shards}
    for shard in _ordered(shards):
        shard_id = shard["ShardId"]
        parent = shard.get("ParentShardId")
        if shard_id in source.closed or (parent in listed and parent not in source.closed):
            continue  # done, or a child whose parent still has records to deliver first
        after = source.checkpoints.get(shard_id)
        it_kwargs: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id}
        if after:
            it_kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            it_kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = streams.get_shard_iterator(**it_kwargs)["ShardIterator"]
        got = streams.get_records(ShardIterator=iterator, Limit=1000)
        records = [shape(r) for r in got.get("Records") or []]
        if not records:
            if not got.get("NextShardIterator"):  # a closed shard read to its end: its children come next
                source.closed.add(shard_id)
                continue
            continue  # an open shard with nothing new
        # Lambda filters before it batches: a batch is up to BatchSize records that pass FilterCriteria.
        wanted = [i for i, r in enumerate(records) if source.wanted(r)]
        batch = wanted[:source.window or source.batch_size]
        done = _deliver(source, shard_id, [records[i] for i in batch], invoke, discard) if batch else 0
        # Done: every record before the first wanted one not done (filtered-out records are done unseen).
        rest = batch[done:] or wanted[len(batch):]
        stop = rest[0] if rest else len(records)
        if stop > 0:
            source.checkpoints[shard_id] = _seq(records[stop - 1])
        return 1
    return 0


def _deliver(source: StreamSource, shard_id: str, batch: list[dict[str, Any]], invoke: Invoke,
             discard: Discard) -> int:
    """Invoke once with `batch`; how many of its leading records are now done (processed or skipped).

    A function error is raised again once the source knows what to deliver next (the same batch, its first half,
    or the records after a skipped one), so a drain in a test shows it; the poller of `make run` logs it."""
    source.invocations += 1
    error: Exception | None = None
    try:
        result = invoke(batch)
    except Exception as exc:  # noqa: BLE001 - a function error, handled as Lambda does
        failed_at, error = 0, exc
    else:
        failed_at = len(batch)
        failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) and source.partial else None
        if failures:
            ids = {str(f.get("itemIdentifier")) for f in failures}
            failed_at = next((i for i, r in enumerate(batch) if _seq(r) in ids), len(batch))
    if failed_at == len(batch):
        source.attempts = 0
        source.window = source.splits.pop() if source.splits else 0  # a bisected batch's second half is next
        return failed_at
    if failed_at > 0:  # reported from a record on: the next batch starts there
        source.attempts, source.window, source.splits = 0, 0, []
        return failed_at
    if source.bisect and len(batch) > 1:
        source.window = (len(batch) + 1) // 2
        source.splits.append(len(batch) - source.window)
    else:
        source.attempts += 1
        if 0 <= source.max_retries < source.attempts:
            reason = f"{type(error).__name__}: {error}" if error else "reported batch item failure"
            discard(source, shard_id, batch, reason)
            source.discarded += len(batch)
            source.attempts = 0
            source.window = source.splits.pop() if source.splits else 0
            return len(batch)
    if error is not None:
        raise error
    return 0


def failure_record(source: StreamSource, stream_arn: str, shard_id: str, batch: list[dict[str, Any]],
                   error: str, function_arn: str) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination for a stream batch it gave up on."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return {
        "requestContext": {"requestId": f"local-{int(time.time() * 1000)}", "functionArn": function_arn,
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": source.max_retries + 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": shard_id, "startSequenceNumber": _seq(batch[0]), "endSequenceNumber": _seq(batch[-1]),
            "approximateArrivalOfFirstRecord": now, "approximateArrivalOfLastRecord": now,
            "batchSize": len(batch), "streamArn": stream_arn},
        "error": error,
    }
