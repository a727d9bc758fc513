"""Analytics: business events recognised in MainTable's stream and counted exactly once, per campaign and per store
day; repeat buyers; the admin routes' answers; the nightly roll-up. docs/analytics.md has the design.

The stream consumer, per batch:
1. skips the records a committed transaction already covers (batch markers, see `uncovered`);
2. writes the reminder indexes (idempotent puts, services.reminders);
3. recognises events from old and new images and finds the campaign of each order's coupons;
4. updates each paying member's recent orders and counts repeat buyers (idempotent per order);
5. ADDs the aggregated counters in one transaction per unit of records, with the unit's two markers.
Step 5 is the last write: a failure before it leaves nothing to double-count when the batch comes again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import tokens
from storeloop.data import analytics as data
from storeloop.data import campaigns as campaign_data
from storeloop.data import stores as store_data
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, parse_rfc3339, to_rfc3339
from storeloop.domain.coupons import looks_like_coupon_code
from storeloop.domain.sources import parse_source_key, source_key
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.analytics import (
    CampaignAnalyticsOut,
    CampaignSourceOut,
    CampaignStoreOut,
    StoreAnalyticsOut,
    StoreDayOut,
    StoreTotalsOut,
)
from storeloop.services import campaign_kinds_tracking as kinds  # issue 10
from storeloop.services import reminders
from storeloop.services.coupons import QR_TOKEN_TYPE
from storeloop.settings import get_settings

logger = Logger(service="storeloop", child=True)

CLAIMED, REDEEMED, UNREDEEMED, PAID, REFUNDED, JOINED, VISIT = (
    "claimed", "redeemed", "unredeemed", "paid", "refunded", "joined", "visit")
VIEWED = "viewed"  # issue 9: an exposure (a VIEW# item's INSERT)
KIND_COUNTS = "kind_counts"  # issue 10: a campaign kind's numbers (services/campaign_kinds_tracking.py)
REPEAT_WINDOW = timedelta(days=30)
MAX_BUYER_ENTRIES = 200  # a member's paid orders kept (the last 30 days'); bounds the item well under 400 KB
UNIT_ITEMS = 96  # counter items per transaction (100 minus the two markers, minus room for one more record)
MIN_TIME_LEFT_MS = 5_000
MAX_RANGE_DAYS = 93
DEFAULT_RANGE_DAYS = 7
SET_ASIDE_METRIC = "StreamRecordsSetAside"
QR_LEEWAY_SECONDS = 7 * 86_400  # a QR token only names its coupon here: its 60 s validity was checked at the till

STORE_DAY_FIELDS = ("visits", "redemptions", "orders", "revenue_fen", "new_members", "refunds",
                    *kinds.STORE_DAY_FIELDS)  # issue 10: the campaign kinds' numbers
CAMPAIGN_FIELDS = ("claimed", "redeemed", "new_members", "orders", "revenue_fen", "refunds", "repeat_buyers_30d",
                   "views")
SOURCE_FIELDS = ("views", "claimed", "redeemed", "new_members", "orders", "revenue_fen", "refunds")  # issue 9
CAMPAIGN_STORE_FIELDS = ("redeemed", "new_members", "orders", "revenue_fen", "refunds")

# The items whose changes are business events; the template's FilterCriteria say the same, so in AWS the
# consumer is not even invoked for the rest (including its own counters).
RELEVANT = (("COUPON#", "COUPON"), ("ORDER#", "ORDER"), ("POSSALE#", "SALE"), ("APPT#", "APPT"),
            ("MEMBER#", "PROFILE"), ("POSRETURN#", "RETURN"),  # POSRETURN: issue 15, till returns
            ("VIEW#", "VIEW"), *kinds.RELEVANT)  # VIEW: issue 9, exposures; issue 10: the campaign kinds


def local_day(value: str) -> str:
    """The China Standard Time date (YYYY-MM-DD) of an RFC 3339 time."""
    return parse_rfc3339(value).astimezone(CN_TZ).date().isoformat()


# ---------------------------------------------------------------------------------------------- recognising


@dataclass(frozen=True)
class Change:
    """One business event read off a stream record."""

    kind: str
    campaign_id: str | None = None
    store_id: str | None = None
    day: str | None = None
    amount_fen: int = 0
    member_id: str | None = None
    order_key: str | None = None  # paid: "order:<id>" or "pos:<store>:<sale>"
    paid_at: str | None = None
    coupon_id: str | None = None  # an online order's coupon
    codes: tuple[str, ...] = ()  # a till sale's redeemed codes (12 digits or QR tokens)
    source: str | None = None  # issue 9: the source key (claims, redemptions, views, joins)
    counts: tuple[tuple[str, int], ...] = ()  # issue 10 (KIND_COUNTS): store day counters to add


def keys_of(record: dict[str, Any]) -> tuple[str, str]:
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return str((keys.get("PK") or {}).get("S", "")), str((keys.get("SK") or {}).get("S", ""))


def is_relevant(record: dict[str, Any]) -> bool:
    pk, sk = keys_of(record)
    return any(pk.startswith(prefix) and sk == kind for prefix, kind in RELEVANT)


def images(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = record.get("dynamodb") or {}
    return data.item_from_raw(body.get("OldImage") or {}), data.item_from_raw(body.get("NewImage") or {})


def _member(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "erased" else None


def recognise(record: dict[str, Any]) -> list[Change]:
    """The business events one stream record stands for (usually none or one)."""
    if not is_relevant(record):
        return []
    pk, _ = keys_of(record)
    old, new = images(record)
    try:
        if pk.startswith("COUPON#"):
            return _coupon(record.get("eventName"), old, new)
        if pk.startswith("ORDER#"):
            return _order(old, new) + _kind_counts(kinds.order_counts(old, new))
        if pk.startswith("POSSALE#"):
            return _pos_sale(old, new)
        if pk.startswith("APPT#"):
            return _appointment(old, new)
        if pk.startswith("POSRETURN#"):
            return _pos_return(old, new)
        if pk.startswith("VIEW#"):
            return _view(record.get("eventName"), new)
        if pk.startswith(tuple(prefix for prefix, _ in kinds.RELEVANT)):
            return _kind_counts(kinds.recognise(pk, record.get("eventName"), old, new))
        return _profile(old, new)
    except Exception as exc:  # noqa: BLE001 - pure reading of one record: nothing here is worth retrying
        set_aside(record, exc)
        return []


def set_aside(record: dict[str, Any], exc: BaseException) -> None:
    """A record the consumer cannot count (a malformed item, a date past what datetime holds): not worth stopping
    the stream for, which would block its shard, and every counter behind it. Counted as done with nothing to
    count, so the rest of its batch is counted; the log line names its key, the metric alarms."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    pk, sk = keys_of(record)
    logger.error(f"stream record set aside: {pk} {sk}", extra={
        "pk": pk, "sk": sk, "event_id": record.get("eventID"), "event_name": record.get("eventName"),
        "sequence_number": (record.get("dynamodb") or {}).get("SequenceNumber"),
        "error": f"{type(exc).__name__}: {exc}"})
    with single_metric(name=SET_ASIDE_METRIC, unit=MetricUnit.Count, value=1, namespace="StoreLoop") as metric:
        metric.add_dimension(name="service", value="analytics_stream")


def _source_of(image: dict[str, Any]) -> str:
    return source_key(image.get("source_channel"), image.get("source_store_id"), image.get("source_ref"))


def _coupon(event: Any, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if event == "INSERT" and new.get("campaign_id"):
        return [Change(CLAIMED, campaign_id=new["campaign_id"], source=_source_of(new))]
    was, now = old.get("status"), new.get("status")
    if event == "MODIFY" and was != "redeemed" and now == "redeemed":
        return [Change(REDEEMED, campaign_id=new["campaign_id"], store_id=new["redeemed_store_id"],
                       day=local_day(new["redeemed_at"]), source=_source_of(new))]
    if event == "MODIFY" and was == "redeemed" and now == "active":  # a reversal takes back its redemption
        return [Change(UNREDEEMED, campaign_id=old["campaign_id"], store_id=old["redeemed_store_id"],
                       day=local_day(old["redeemed_at"]), source=_source_of(old))]
    return []


def _view(event: Any, new: dict[str, Any]) -> list[Change]:
    # Only the INSERT counts: the TTL's REMOVE of the same item days later is no exposure.
    if event == "INSERT" and new.get("campaign_id"):
        return [Change(VIEWED, campaign_id=new["campaign_id"],
                       source=source_key(new.get("channel"), new.get("store_id"), new.get("ref")))]
    return []


def _order(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    was, now = old.get("status"), new.get("status")
    if was != "paid" and now == "paid" and new.get("paid_at"):
        return [Change(PAID, store_id=new["store_id"], day=local_day(new["paid_at"]),
                       amount_fen=int(new["payable_fen"]), member_id=_member(new.get("member_id")),
                       order_key=f"order:{new['order_id']}", paid_at=new["paid_at"], coupon_id=new.get("coupon_id"))]
    if was != "refunded" and now == "refunded" and not new.get("auto_refund") and new.get("paid_at"):
        # A payment that arrived after the order was cancelled was never counted, so its refund is not either.
        return [Change(REFUNDED, store_id=new["store_id"], day=local_day(new["refunded_at"]),
                       amount_fen=int(new["payable_fen"]), coupon_id=new.get("coupon_id"))]
    return []


def _kind_counts(found: list[kinds.Counts]) -> list[Change]:
    return [Change(KIND_COUNTS, store_id=store_id, day=day, counts=counts) for store_id, day, counts in found]


def _pos_sale(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if old.get("status") != "done" and new.get("status") == "done":
        return [Change(PAID, store_id=new["store_id"], day=local_day(new["occurred_at"]),
                       amount_fen=int(new["total_fen"]), member_id=_member(new.get("member_id")),
                       order_key=f"pos:{new['store_id']}:{new['sale_id']}", paid_at=new["occurred_at"],
                       codes=tuple(new.get("coupons_redeemed") or ()))]
    return []


def _pos_return(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """issue 15: a till return (written once, whole) is a refund of its sale's share, on the day of the return."""
    if old or not new:
        return []
    return [Change(REFUNDED, store_id=new["store_id"], day=local_day(new["occurred_at"]),
                   amount_fen=int(new["total_fen"]), codes=tuple(new.get("coupon_codes") or ()))]


def _appointment(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if old.get("status") != "checked_in" and new.get("status") == "checked_in":
        # A visit belongs to its slot's day (the store-day appointment index is keyed the same way).
        return [Change(VISIT, store_id=new["store_id"], day=local_day(new["slot_start"]))]
    return []


def _profile(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    if not old.get("joined_at") and new.get("joined_at"):
        return [Change(JOINED, store_id=new.get("joined_store_id"), campaign_id=new.get("joined_campaign_id"),
                       day=local_day(new["joined_at"]), source=new.get("joined_source") or source_key(None))]
    return []


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
        by_code.update(data.coupon_ids_of_codes(numeric))
    if len(numeric) < len(codes):
        key = get_settings().token_signing_key
        for code in codes.difference(numeric):
            try:
                by_code[code] = str(tokens.read(key, QR_TOKEN_TYPE, code, leeway=QR_LEEWAY_SECONDS)["sub"])
            except tokens.TokenInvalid:
                logger.warning("a till sale's coupon could not be attributed")
    wanted = coupon_ids | set(by_code.values())
    source_of_coupon: dict[str, str] = {}
    campaign_of_coupon = data.campaigns_of_coupons(sorted(wanted), source_of_coupon) if wanted else {}
    found = {c: campaign_of_coupon[c] for c in coupon_ids if c in campaign_of_coupon}
    found.update({code: campaign_of_coupon[cid] for code, cid in by_code.items() if cid in campaign_of_coupon})
    if sources is not None:
        sources.update({c: source_of_coupon[c] for c in coupon_ids if c in source_of_coupon})
        sources.update({code: source_of_coupon[cid] for code, cid in by_code.items() if cid in source_of_coupon})
    return found


def campaigns_for(change: Change, campaign_of: dict[str, str]) -> tuple[str, ...]:
    """The campaigns an order counts for: the campaign of each coupon it used (online: at most one)."""
    refs = ([change.coupon_id] if change.coupon_id else []) + list(change.codes)
    return tuple(dict.fromkeys(campaign_of[r] for r in refs if r in campaign_of))


def sources_for(change: Change, campaign_of: dict[str, str], source_of: dict[str, str]) -> dict[str, str]:
    """Issue 9: campaign → the source an order counts under (that of its first coupon of the campaign)."""
    refs = ([change.coupon_id] if change.coupon_id else []) + list(change.codes)
    found: dict[str, str] = {}
    for r in refs:
        if r in campaign_of:
            found.setdefault(campaign_of[r], source_of.get(r) or source_key(None))
    return found


# ---------------------------------------------------------------------------------------------- counting


class Tally:
    """The counter items a set of changes adds to, aggregated (one write per item)."""

    def __init__(self) -> None:
        self.writes: dict[tuple[str, str], data.CounterWrite] = {}

    def _item(self, key: tuple[str, str], fields: dict[str, str]) -> data.CounterWrite:
        write = self.writes.get(key)
        if write is None:
            write = self.writes[key] = data.CounterWrite(*key, fields=fields)
        return write

    def campaign(self, campaign_id: str) -> data.CounterWrite:
        return self._item(data.campaign_totals_key(campaign_id), {"campaign_id": campaign_id})

    def campaign_store(self, campaign_id: str, store_id: str) -> data.CounterWrite:
        return self._item(data.campaign_store_key(campaign_id, store_id),
                          {"campaign_id": campaign_id, "store_id": store_id})

    def campaign_source(self, campaign_id: str, source: str | None) -> data.CounterWrite:
        """Issue 9: the by-source row; every campaign count also goes to exactly one of these, so they sum up."""
        key = source or source_key(None)
        named = {k: v for k, v in parse_source_key(key).items() if v is not None}
        return self._item(data.campaign_source_key(campaign_id, key),
                          {"campaign_id": campaign_id, "source_key": key, **named})

    def store_day(self, store_id: str, day: str) -> data.CounterWrite:
        return self._item(data.store_day_key(store_id, day),
                          {"store_id": store_id, "date": day, "GSI1PK": data.day_index_pk(day),
                           "GSI1SK": f"STORE#{store_id}"})

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

    def range(self) -> data.BatchRange:
        first, last = self.records[0], self.records[-1]
        return data.BatchRange(first["eventID"], seq(first), last["eventID"], seq(last), len(self.records))


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
        head, tail = data.markers(records[lo]["eventID"], records[hi]["eventID"])
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


def repeat_campaigns(paid: dict[str, dict[str, Any]], window: timedelta = REPEAT_WINDOW) -> set[str]:
    """The campaigns a buyer is a repeat buyer of: two paid orders at most `window` apart, at least one of them
    using a coupon of the campaign. Order-insensitive, so records from different shards may arrive in any order."""
    entries = sorted((parse_rfc3339(v["at"]), tuple(v.get("campaigns") or ())) for v in paid.values())
    found: set[str] = set()
    for i, (at, campaigns) in enumerate(entries):
        for later, more in entries[i + 1:]:
            if later - at > window:
                break
            found.update(campaigns)
            found.update(more)
    return found


def _prune(paid: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keep the orders that can still pair with a newer one (the last 30 days before the newest), at most 200."""
    if not paid:
        return paid
    newest = max(parse_rfc3339(v["at"]) for v in paid.values())
    kept = sorted(((k, v) for k, v in paid.items() if newest - parse_rfc3339(v["at"]) <= REPEAT_WINDOW),
                  key=lambda kv: parse_rfc3339(kv[1]["at"]))
    return dict(kept[-MAX_BUYER_ENTRIES:])


def count_repeat_buyers(paid: list[Change], campaign_of: dict[str, str], stamp: str) -> int:
    """Add each paid order to its buyer's recent orders; count the buyer once per campaign it newly repeats.
    Idempotent: an order already recorded changes nothing. Returns how many repeat counts were added."""
    by_member: dict[str, list[Change]] = {}
    for change in paid:
        if change.member_id and change.order_key and change.paid_at:
            by_member.setdefault(change.member_id, []).append(change)
    added = 0
    for member_id, orders in sorted(by_member.items()):
        for attempt in range(1, data.CONFLICT_ATTEMPTS + 1):
            buyer = data.get_buyer(member_id)
            new = [c for c in orders if c.order_key not in buyer.paid]
            if not new:
                break
            for c in new:
                buyer.paid[str(c.order_key)] = {"at": str(c.paid_at), "campaigns": list(campaigns_for(c, campaign_of))}
            newly = repeat_campaigns(buyer.paid) - buyer.repeat_campaigns
            buyer.repeat_campaigns |= newly
            buyer.paid = _prune(buyer.paid)
            outcome = data.save_buyer(buyer, newly, stamp)
            if outcome == "saved":
                added += len(newly)
                break
            if outcome == "gone":  # erased meanwhile: keep nothing about them
                break
            if attempt == data.CONFLICT_ATTEMPTS:
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
        data.put_index_items(index)
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
            committed += data.commit_counters(unit.range(), writes, stamp)
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


# ---------------------------------------------------------------------------------------------- routes


def _number(item: dict[str, Any] | None, name: str) -> int:
    return int((item or {}).get(name) or 0)


def campaign_analytics(campaign_id: str) -> CampaignAnalyticsOut:
    if campaign_data.get_campaign(campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} not found")
    rows = data.campaign_counters(campaign_id)
    totals = next((r for r in rows if r["SK"] == "ANALYTICS#TOTAL"), {})
    stores = sorted((r for r in rows if r["SK"].startswith("ANALYTICS#STORE#")), key=lambda r: r["store_id"])
    by_source = sorted((r for r in rows if r["SK"].startswith("ANALYTICS#SOURCE#")), key=lambda r: r["SK"])
    claimed, redeemed = _number(totals, "claimed"), _number(totals, "redeemed")
    return CampaignAnalyticsOut(
        campaign_id=campaign_id, **{f: _number(totals, f) for f in CAMPAIGN_FIELDS},
        redemption_rate=round(redeemed / claimed, 4) if claimed > 0 else 0.0,
        by_store=[CampaignStoreOut(store_id=r["store_id"], **{f: _number(r, f) for f in CAMPAIGN_STORE_FIELDS})
                  for r in stores],
        by_source=[CampaignSourceOut.model_validate({**parse_source_key(r.get("source_key")),
                                                     **{f: _number(r, f) for f in SOURCE_FIELDS}})
                   for r in by_source])


def _date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return clock.parse_date(value)  # years 2000-2100: a range near year 1 or 9999 overflows date arithmetic
    except ValueError:
        raise ValidationFailed("dates are YYYY-MM-DD, years 2000-2100", details=[
            {"field": name, "issue": "invalid_date", "message": "expected YYYY-MM-DD, years 2000-2100"}]) from None


def date_range(first: str | None, last: str | None, today: date | None = None) -> tuple[date, date]:
    """The asked range: both ends inclusive, from ≤ to, at most 93 days; by default the 7 days up to today."""
    today = today or clock.now().astimezone(CN_TZ).date()
    start, end = _date(first, "from"), _date(last, "to")
    end = end or (start + timedelta(days=DEFAULT_RANGE_DAYS - 1) if start else today)
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValidationFailed("from must not be after to", details=[
            {"field": "from", "issue": "after_to", "message": "from must be on or before to"}])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"at most {MAX_RANGE_DAYS} days at a time", details=[
            {"field": "to", "issue": "range_too_long", "message": f"the range spans more than {MAX_RANGE_DAYS} days"}])
    return start, end


def store_analytics(store_id: str, first: str | None, last: str | None) -> StoreAnalyticsOut:
    start, end = date_range(first, last)
    if store_data.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")
    rows = {r["date"]: r for r in data.store_days(store_id, start.isoformat(), end.isoformat())}
    days = []
    for n in range((end - start).days + 1):
        day = (start + timedelta(days=n)).isoformat()
        days.append(StoreDayOut(date=day, **{f: _number(rows.get(day), f) for f in STORE_DAY_FIELDS}))
    totals = StoreTotalsOut(**{f: sum(getattr(d, f) for d in days) for f in STORE_DAY_FIELDS})
    return StoreAnalyticsOut.model_validate({"store_id": store_id, "from": start.isoformat(), "to": end.isoformat(),
                                             "days": days, "totals": totals})


# ---------------------------------------------------------------------------------------------- nightly roll-up


def rollup_day(reference: datetime | None = None) -> date:
    """The day a roll-up at `reference` closes: the day before, in China Standard Time."""
    return (reference or clock.now()).astimezone(CN_TZ).date() - timedelta(days=1)


def rollup(day: date) -> dict[str, Any]:
    """Close `day`: reconcile each active store's redemptions and visits with their source records, write the
    brand's day total and a snapshot of every campaign live that day. Idempotent: every write is a recomputation.

    Drift (a counter that disagrees with its source) is recorded and logged, never corrected here: the stream may
    still be delivering, and a correction racing it would count twice. docs/analytics.md says how to correct.
    """
    d = day.isoformat()
    stamp = to_rfc3339(clock.now())
    drift: list[dict[str, Any]] = []
    totals = dict.fromkeys(STORE_DAY_FIELDS, 0)
    rows = data.store_days_on(d)
    for row in rows:
        store_id = row["store_id"]
        source = {"redemptions": data.count_store_redemptions(store_id, d),
                  "visits": data.count_store_visits(store_id, d)}
        off = {f: {"counted": _number(row, f), "source": n} for f, n in source.items() if _number(row, f) != n}
        data.close_store_day(store_id, d, source, off, stamp)
        drift += [{"store_id": store_id, "field": f, **v} for f, v in off.items()]
        for f in STORE_DAY_FIELDS:
            totals[f] += _number(row, f)
    data.put_record(*data.brand_day_key(d), {"date": d, **totals, "stores": len(rows), "closed_at": stamp,
                                             "drift": len(drift)})
    start = datetime(day.year, day.month, day.day, tzinfo=CN_TZ)
    live = data.campaigns_live_on(to_rfc3339(start), to_rfc3339(start + timedelta(days=1) - timedelta(seconds=1)))
    for campaign in live:
        campaign_id = campaign["campaign_id"]
        counters = next((r for r in data.campaign_counters(campaign_id) if r["SK"] == "ANALYTICS#TOTAL"), {})
        values = {f: _number(counters, f) for f in CAMPAIGN_FIELDS}
        rate = values["redeemed"] / values["claimed"] if values["claimed"] > 0 else 0.0
        standing = data.count_campaign_redemptions(campaign_id)
        if standing != values["redeemed"]:
            drift.append({"campaign_id": campaign_id, "field": "redeemed", "counted": values["redeemed"],
                          "source": standing})
        data.put_record(*data.snapshot_key(campaign_id, d), {
            "campaign_id": campaign_id, "date": d, **values, "redemption_rate": Decimal(str(round(rate, 4))),
            "source_redeemed": standing, "taken_at": stamp})
    for item in drift:
        logger.warning("analytics drift", extra={"date": d, **item})
    logger.info("analytics roll-up", extra={"date": d, "stores": len(rows), "campaigns": len(live),
                                            "drift": len(drift)})
    return {"date": d, "stores": len(rows), "campaigns": len(live), "totals": totals, "drift": drift}
