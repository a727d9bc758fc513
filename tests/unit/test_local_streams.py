"""The local cloud's stream event source rules (local/streams.py): FilterCriteria matching and Lambda's handling of a
failed batch (bisection into halves delivered in turn, retries, skipping), on fake records and a fake function."""

from __future__ import annotations

import json

import pytest

from local.stack import load_stack
from local.streams import StreamSource, _deliver, matches


def record(pk: str, sk: str, seq: int = 1) -> dict:
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}},
                                                "SequenceNumber": f"{seq:021d}"}}


def analytics_source() -> StreamSource:
    fn = load_stack().functions["AnalyticsFunction"]
    (event,) = [e for e in fn.events.values() if e["Type"] == "DynamoDB"]
    return StreamSource.from_event("MainTable", "AnalyticsFunction", event["Properties"])


@pytest.mark.parametrize(("pk", "sk", "wanted"), [
    ("COUPON#c1", "COUPON", True), ("ORDER#o1", "ORDER", True), ("POSSALE#s1#x", "SALE", True),
    ("APPT#a1", "APPT", True), ("MEMBER#m1", "PROFILE", True), ("MEMBER#m1", "POINTS#1", False),
    ("STOCK#t1#00", "STOCK", False), ("CAMPAIGN#c1", "ANALYTICS#TOTAL", False), ("ANALYTICS#MARK#e1", "FIRST", False),
])
def test_the_templates_filter_criteria_pass_exactly_the_business_items(pk, sk, wanted):
    source = analytics_source()
    assert len(source.filters) == 4  # template.yaml: prefixes share one pattern (Lambda allows 5)
    assert source.wanted(record(pk, sk)) is wanted


def test_filter_operators():
    assert matches({"a": [{"prefix": "x"}]}, {"a": "xy"}) and not matches({"a": [{"prefix": "x"}]}, {"a": "yx"})
    assert matches({"a": [{"exists": False}]}, {"b": 1}) and not matches({"a": [{"exists": True}]}, {"b": 1})
    assert matches({"a": [{"anything-but": ["no"]}]}, {"a": "yes"}) and not matches({"a": [{"anything-but": "no"}]},
                                                                                   {"a": "no"})
    assert matches({"a": {"b": ["c", "d"]}}, {"a": {"b": "d"}}) and not matches({"a": {"b": ["c"]}}, {"a": "c"})
    assert matches(json.loads('{"n": [3]}'), {"n": 3}) and not matches({"n": [3]}, {})


def test_the_template_declares_bisection_bounded_retries_and_an_on_failure_queue():
    source = analytics_source()
    assert (source.batch_size, source.bisect, source.partial) == (100, True, True)
    assert 0 < source.max_retries <= 10 and source.on_failure == "AnalyticsStreamFailuresQueue"


def test_a_failing_batch_is_bisected_into_halves_delivered_in_turn_then_the_record_retried_and_skipped():
    source = StreamSource("T", "F", batch_size=8, max_retries=2, bisect=True)
    records = [record("COUPON#c", "COUPON", i) for i in range(8)]
    poison = records[5]
    head, delivered, skipped = 0, [], []

    def invoke(batch):
        delivered.append([int(r["dynamodb"]["SequenceNumber"]) for r in batch])
        if poison in batch:
            raise RuntimeError("bug")

    while head < len(records):
        batch = records[head:head + (source.window or source.batch_size)]
        try:
            head += _deliver(source, "shard", batch, invoke, lambda s, sh, b, e: skipped.append((b, e)))
        except RuntimeError:
            pass
    assert delivered == [[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7], [4, 5], [4], [5], [5], [5], [6, 7]]
    assert skipped == [([poison], "RuntimeError: bug")] and source.discarded == 1


def test_without_bisection_the_whole_batch_is_retried_then_skipped():
    source = StreamSource("T", "F", batch_size=3, max_retries=1, bisect=False)
    batch = [record("COUPON#c", "COUPON", i) for i in range(3)]
    skipped = []

    def fail(_batch):
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):  # the first try
        _deliver(source, "shard", batch, fail, lambda s, sh, b, e: skipped.append(b))
    assert skipped == []
    assert _deliver(source, "shard", batch, fail, lambda s, sh, b, e: skipped.append(b)) == 3  # its one retry
    assert skipped == [batch]


def test_a_reported_item_failure_resumes_at_that_record():
    source = StreamSource("T", "F", batch_size=4, partial=True)
    batch = [record("COUPON#c", "COUPON", i) for i in range(4)]
    answer = {"batchItemFailures": [{"itemIdentifier": batch[2]["dynamodb"]["SequenceNumber"]}]}
    assert _deliver(source, "shard", batch, lambda _b: answer, lambda *a: None) == 2


class FakeStreams:
    """DescribeStream / GetShardIterator / GetRecords over fixed shards: a closed parent and its open child."""

    def __init__(self, shards: dict[str, tuple[str | None, bool, list[dict]]]) -> None:
        self.shards = shards  # id -> (parent id, closed, records)

    def describe_stream(self, **_kw):
        return {"StreamDescription": {"Shards": [
            {"ShardId": sid, **({"ParentShardId": parent} if parent else {})}
            for sid, (parent, _, _) in reversed(self.shards.items())]}}  # children listed first: order is ours

    def get_shard_iterator(self, ShardId, ShardIteratorType, SequenceNumber=None, **_kw):  # noqa: N803 - AWS names
        return {"ShardIterator": json.dumps([ShardId, SequenceNumber])}

    def get_records(self, ShardIterator, Limit):  # noqa: N803 - AWS names
        shard_id, after = json.loads(ShardIterator)
        _, closed, records = self.shards[shard_id]
        rest = [r for r in records if after is None or r["dynamodb"]["SequenceNumber"] > after][:Limit]
        return {"Records": rest, **({} if closed and not rest else {"NextShardIterator": "next"})}


def test_a_parents_records_are_delivered_before_its_childs_and_each_once():
    from local.streams import poll_once

    parent = [record("COUPON#a", "COUPON", 1), record("STOCK#t#00", "STOCK", 2), record("COUPON#b", "COUPON", 3)]
    child = [record("COUPON#c", "COUPON", 4)]
    streams = FakeStreams({"p": (None, True, parent), "c": ("p", False, child)})
    source = StreamSource("T", "F", batch_size=1, filters=analytics_source().filters)
    got: list[str] = []

    def invoke(batch):
        got.extend(r["dynamodb"]["Keys"]["PK"]["S"] for r in batch)

    rounds = 0
    while poll_once(streams, "arn", source, lambda r: r, invoke, lambda *a: None):
        rounds += 1
    assert got == ["COUPON#a", "COUPON#b", "COUPON#c"]  # in order, STOCK filtered out, one record per batch
    assert source.closed == {"p"} and source.checkpoints == {"p": f"{3:021d}", "c": f"{4:021d}"}
    assert rounds == 3
