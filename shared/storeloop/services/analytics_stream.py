"""The MainTable stream consumer: each delivered batch's business events counted exactly once.

Per campaign and per store day, with repeat buyers and the reminder indexes; docs/analytics.md has the design.
Per batch:
1. skips the records a committed transaction already covers (batch markers, see `uncovered`);
2. writes the reminder indexes (idempotent puts, services.reminders);
3. recognises events from old and new images (domain/analytics_events.py) and finds the campaign of each order's
   coupons;
4. updates each paying member's recent orders and counts repeat buyers (idempotent per order);
5. ADDs the aggregated counters in one transaction per unit of records, with the unit's two markers.
Step 5 is the last write: a failure before it leaves nothing to double-count when the batch comes again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import tokens
from storeloop.data import analytics, analytics_buyers
from storeloop.domain import analytics_events, clock
from storeloop.domain.analytics_events import (
    CLAIMED,
    JOINED,
    KIND_COUNTS,
    PAID,
    REDEEMED,
    REFUNDED,
    UNREDEEMED,
    VIEWED,
    VISIT,
    Change,
    campaigns_for,
    sources_for,
)
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.coupons import looks_like_coupon_code
from storeloop.domain.sources import source_key
from storeloop.services import reminders
from storeloop.services.coupons import QR_TOKEN_TYPE
from storeloop.settings import get_settings

logger = Logger(service="storeloop", child=True)

UNIT_ITEMS = 96  # counter items per transaction (100 minus the two markers, minus room for one more record)
MIN_TIME_LEFT_MS = 5_000
SET_ASIDE_METRIC = "StreamRecordsSetAside"
QR_LEEWAY_SECONDS = 7 * 86_400  # a QR token only names its coupon here: its 60 s validity was checked at the till


# ---------------------------------------------------------------------------------------------- recognising


def is_relevant(record: dict[str, Any]) -> bool:
    """Whether the record's item is one whose changes are business events (analytics_events.RELEVANT)."""
    return analytics_events.is_relevant(*analytics.record_keys(record))


def recognise(record: dict[str, Any]) -> list[Change]:
    """The business events one stream record stands for (usually none or one); a record that cannot be read is
    set aside."""
    pk, sk = analytics.record_keys(record)
    if not analytics_events.is_relevant(pk, sk):
        return []
    old, new = analytics.record_images(record)
    try:
        return analytics_events.recognise(pk, sk, record.get("eventName"), old, new)
    except Exception as exc:  # noqa: BLE001 - pure reading of one record: nothing here is worth retrying
        set_aside(record, exc)
        return []


def set_aside(record: dict[str, Any], exc: BaseException) -> None:
    """A record the consumer cannot count (a malformed item, a date past what datetime holds): not worth stopping
    the stream for, which would block its shard, and every counter behind it. Counted as done with nothing to
    count, so the rest of its batch is counted; the log line names its key, the metric alarms."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    pk, sk = analytics.record_keys(record)
    logger.error(f"stream record set aside: {pk} {sk}", extra={
        "pk": pk, "sk": sk, "event_id": record.get("eventID"), "event_name": record.get("eventName"),
        "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
        "error": f"{type(exc).__name__}: {exc}"})
    with single_metric(name=SET_ASIDE_METRIC, unit=MetricUnit.Count, value=1, namespace="StoreLoop") as metric:
        metric.add_dimension(name="service", value="analytics_stream")


# ---------------------------------------------------------------------------------------------- attribution


def campaigns_of_orders(changes: Iterable[Change], sources: dict[str, str] | None = None) -> dict[str, str]:
    """coupon id or till code → campaign id, for the coupons the batch's paid and refunded orders used.
    Issue 9: `sources` gets coupon id or till code → the coupon's source key."""
    changes = [c for c in changes if c.kind in (PAID, REFUNDED)]
    coupon_ids = {c.coupon_id for c in changes if c.coupon_id}
    codes = {code for c in changes for code in c.codes}
    by_code: dict[str, str] = {}
    numeric = [code for code in codes if looks_like_coupon_code(code)]
    if numeric:
        by_code.update(analytics.coupon_ids_of_codes(numeric))
    if len(numeric) < len(codes):
        key = get_settings().token_signing_key
        for code in codes.difference(numeric):
            try:
                by_code[code] = str(tokens.read(key, QR_TOKEN_TYPE, code, leeway=QR_LEEWAY_SECONDS)["sub"])
            except tokens.TokenInvalid:
                logger.warning("a till sale's coupon could not be attributed")
    wanted = coupon_ids | set(by_code.values())
    source_of_coupon: dict[str, str] = {}
    campaign_of_coupon = analytics.campaigns_of_coupons(sorted(wanted), source_of_coupon) if wanted else {}
    found = {c: campaign_of_coupon[c] for c in coupon_ids if c in campaign_of_coupon}
    found.update({code: campaign_of_coupon[cid] for code, cid in by_code.items() if cid in campaign_of_coupon})
    if sources is not None:
        sources.update({c: source_of_coupon[c] for c in coupon_ids if c in source_of_coupon})
        sources.update({code: source_of_coupon[cid] for code, cid in by_code.items() if cid in source_of_coupon})
    return found


# ---------------------------------------------------------------------------------------------- counting


class Tally:
    """The counter items a set of changes adds to, aggregated (one write per item)."""

    def __init__(self) -> None:
        self.writes: dict[tuple[str, str], analytics.CounterWrite] = {}

    def _item(self, write: analytics.CounterWrite) -> analytics.CounterWrite:
        return self.writes.setdefault((write.pk, write.sk), write)

    def campaign(self, campaign_id: str) -> analytics.CounterWrite:
        return self._item(analytics.campaign_counter(campaign_id))

    def campaign_store(self, campaign_id: str, store_id: str) -> analytics.CounterWrite:
        return self._item(analytics.campaign_store_counter(campaign_id, store_id))

    def campaign_source(self, campaign_id: str, source: str | None) -> analytics.CounterWrite:
        """Issue 9: the by-source row; every campaign count also goes to exactly one of these, so they sum up."""
        return self._item(analytics.campaign_source_counter(campaign_id, source or source_key(None)))

    def store_day(self, store_id: str, day: str) -> analytics.CounterWrite:
        return self._item(analytics.store_day_counter(store_id, day))

    def count(self, change: Change, campaigns: tuple[str, ...] = (), sources: dict[str, str] | None = None) -> None:
        sign = -1 if change.kind == UNREDEEMED else 1
        if change.kind == CLAIMED and change.campaign_id:
            self.campaign(change.campaign_id).add("claimed", 1)
            self.campaign_source(change.campaign_id, change.source).add("claimed", 1)
        elif change.kind == VIEWED and change.campaign_id:
            self.campaign(change.campaign_id).add("views", 1)
            self.campaign_source(change.campaign_id, change.source).add("views", 1)
        elif change.kind in (REDEEMED, UNREDEEMED) and change.campaign_id and change.store_id and change.day:
            self.campaign(change.campaign_id).add("redeemed", sign)
            self.campaign_store(change.campaign_id, change.store_id).add("redeemed", sign)
            self.campaign_source(change.campaign_id, change.source).add("redeemed", sign)
            self.store_day(change.store_id, change.day).add("redemptions", sign)
        elif change.kind in (PAID, REFUNDED) and change.store_id and change.day:
            money = change.amount_fen if change.kind == PAID else -change.amount_fen
            what = "orders" if change.kind == PAID else "refunds"
            targets = [self.store_day(change.store_id, change.day)]
            for campaign_id in campaigns:
                targets += [self.campaign(campaign_id), self.campaign_store(campaign_id, change.store_id),
                            self.campaign_source(campaign_id, (sources or {}).get(campaign_id))]
            for write in targets:
                write.add(what, 1)
                write.add("revenue_fen", money)
        elif change.kind == JOINED and change.day:
            if change.store_id:
                self.store_day(change.store_id, change.day).add("new_members", 1)
            if change.campaign_id:
                self.campaign(change.campaign_id).add("new_members", 1)
                self.campaign_source(change.campaign_id, change.source).add("new_members", 1)
                if change.store_id:
                    self.campaign_store(change.campaign_id, change.store_id).add("new_members", 1)
        elif change.kind == VISIT and change.store_id and change.day:
            self.store_day(change.store_id, change.day).add("visits", 1)
        elif change.kind == KIND_COUNTS and change.store_id and change.day:  # issue 10
            for name, amount in change.counts:
                self.store_day(change.store_id, change.day).add(name, amount)


@dataclass
class Unit:
    """Consecutive records whose counters commit in one transaction."""

    records: list[dict[str, Any]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)

    def range(self) -> analytics.BatchRange:
        first, last = self.records[0], self.records[-1]
        return analytics.BatchRange(first["eventID"], seq(first), last["eventID"], seq(last), len(self.records))


def seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def plan_units(records: list[dict[str, Any]], changes: list[list[Change]], campaign_of: dict[str, str],
               limit: int | None = None, source_of: dict[str, str] | None = None) -> list[Unit]:
    """Split the records, in order, into units whose counters fit one transaction (almost always one unit)."""
    limit = limit or UNIT_ITEMS
    source_of = source_of or {}
    units = [Unit()]
    for record, found in zip(records, changes, strict=True):
        alone = Tally()
        for change in found:
            alone.count(change, campaigns_for(change, campaign_of), sources_for(change, campaign_of, source_of))
        current = units[-1]
        if current.records and len(set(current.tally.writes) | set(alone.writes)) > limit:
            current = Unit()
            units.append(current)
        current.records.append(record)
        for change in found:
            current.tally.count(change, campaigns_for(change, campaign_of), sources_for(change, campaign_of, source_of))
    return units


def uncovered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a delivered batch that no committed transaction covers yet.

    A transaction's markers are keyed by its first record (FIRST, naming its last sequence number) and by its last
    record (LAST, naming its first). A redelivery starts at the first record of a unit (the same batch again, or
    Lambda resuming after a reported failure) or, when Lambda bisects a batch after a crash, at its first record or
    ending at its last: each case finds a marker and skips what it covers, from the front or the back.
    """
    lo, hi = 0, len(records) - 1
    while lo <= hi:
        head, tail = analytics.markers(records[lo]["eventID"], records[hi]["eventID"])
        start, end = lo, hi
        if head is not None:
            upto = int(head["last_seq"])
            lo = next((i for i in range(lo, hi + 1) if int(seq(records[i])) > upto), hi + 1)
        if tail is not None:
            since = int(tail["first_seq"])
            hi = max((i for i in range(lo, hi + 1) if int(seq(records[i])) < since), default=lo - 1)
        if (lo, hi) == (start, end):
            break
    return records[lo:hi + 1]


# ---------------------------------------------------------------------------------------------- repeat buyers


def count_repeat_buyers(paid: list[Change], campaign_of: dict[str, str], stamp: str) -> int:
    """Add each paid order to its buyer's recent orders; count the buyer once per campaign it newly repeats.
    Idempotent: an order already recorded changes nothing. Returns how many repeat counts were added."""
    by_member: dict[str, list[Change]] = {}
    for change in paid:
        if change.member_id and change.order_key and change.paid_at:
            by_member.setdefault(change.member_id, []).append(change)
    added = 0
    for member_id, orders in sorted(by_member.items()):
        for attempt in range(1, analytics.CONFLICT_ATTEMPTS + 1):
            buyer = analytics_buyers.get_buyer(member_id)
            new = [c for c in orders if c.order_key not in buyer.paid]
            if not new:
                break
            for c in new:
                buyer.paid[str(c.order_key)] = {"at": str(c.paid_at), "campaigns": list(campaigns_for(c, campaign_of))}
            newly = analytics_events.repeat_campaigns(buyer.paid) - buyer.repeat_campaigns
            buyer.repeat_campaigns |= newly
            buyer.paid = analytics_events.prune(buyer.paid)
            outcome = analytics_buyers.save_buyer(buyer, newly, stamp)
            if outcome == "saved":
                added += len(newly)
                break
            if outcome == "gone":  # erased meanwhile: keep nothing about them
                break
            if attempt == analytics.CONFLICT_ATTEMPTS:
                raise RuntimeError("a buyer's record kept changing")
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
    return added


# ---------------------------------------------------------------------------------------------- the consumer


def process_stream_batch(records: list[dict[str, Any]], time_left_ms: Callable[[], int] | None = None
                         ) -> dict[str, Any]:
    """Count one delivered batch exactly once. Returns the partial-batch answer Lambda expects.

    Raises when nothing of the batch was committed (Lambda delivers it again, whole or bisected: nothing is
    double-counted). After a unit committed, a failure reports the first record of the next unit instead, so
    Lambda resumes there and never redelivers what is committed.
    """
    if not any(is_relevant(r) for r in records):
        return {"batchItemFailures": []}  # locally (no FilterCriteria): e.g. the records of our own counters
    pending = uncovered(records)
    if not pending:
        logger.info("stream batch already applied", extra={"records": len(records)})
        return {"batchItemFailures": []}
    stamp = to_rfc3339(clock.now())
    index: list[dict[str, Any]] = []
    aside: set[int] = set()
    for i, record in enumerate(pending):
        try:
            index.extend(reminders.index_items([record]))
        except Exception as exc:  # noqa: BLE001 - pure reading of one record, as in recognise()
            set_aside(record, exc)
            aside.add(i)
    if index:
        analytics.put_index_items(index)
    from storeloop.data import store_day  # issue 8: the pickups waiting per store (GET /stores/{id}/orders)

    store_day.apply_pickup_index(store_day.pickup_index_changes(pending))
    changes = [[] if i in aside else recognise(r) for i, r in enumerate(pending)]
    flat = [c for found in changes for c in found]
    source_of: dict[str, str] = {}
    campaign_of = campaigns_of_orders(flat, source_of)
    repeats = count_repeat_buyers([c for c in flat if c.kind == PAID], campaign_of, stamp)
    units = plan_units(pending, changes, campaign_of, source_of=source_of)
    committed, applied = 0, False  # applied: an earlier unit of this batch is in the table (now or before)
    for unit in units:
        writes = [w for w in unit.tally.writes.values() if not w.is_empty()]
        if not writes:
            continue  # nothing to count: nothing to mark either
        try:
            if time_left_ms is not None and time_left_ms() < MIN_TIME_LEFT_MS:
                raise TimeoutError("too little time left to commit a unit")
            committed += analytics.commit_counters(unit.range(), writes, stamp)
        except Exception:
            if not applied:
                raise  # nothing of this batch is counted: any redelivery, however split, is safe
            logger.exception("analytics unit failed; Lambda resumes from its first record")
            return {"batchItemFailures": [{"itemIdentifier": seq(unit.records[0])}]}
        applied = True
    logger.info("stream batch counted", extra={"records": len(records), "pending": len(pending),
                                               "events": len(flat), "units": committed, "repeat_buyers": repeats,
                                               "index_items": len(index)})
    return {"batchItemFailures": []}
