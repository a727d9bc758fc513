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
    assert len(source.filters) == 5
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
