"""Journeys: marketing automation that brings members back (docs/journeys.md).

A journey is a trigger, an optional segment and actions. `joined` acts from the table's stream within seconds
(the journeys stream consumer, `on_stream_batch`); the time triggers are evaluated by the daily schedule
(`run_time_triggers`), which finds who is due through keys, never a Scan:

- `no_purchase_for_days` N: the points-expiry index (`POINTS_EXPIRY#<day>`, moved by every purchase to
  POINTS_EXPIRY_DAYS after it): members whose last purchase was N days ago sit under N days before their expiry
  day, so N must be below POINTS_EXPIRY_DAYS;
- `points_expiring` N: the same index, N days ahead (members with points left);
- `coupon_expiring` N: the coupon-expiry index the reminders use (`EXPIRY#<day>#<shard>`), N days ahead.

Entering is once per `reentry_days` window and exactly once per window (data/journeys.py); each action is done
at most once per window: a coupon is granted with an id derived from (journey, member, window, action), so a
retry meets its own coupon; a message carries a stable id, so the sender sends it once. The coupon is granted as
a claim would be (template stock, per-member limit, validity) under the journey's id in place of a campaign's,
so the coupon's redemptions and orders show in `GET /admin/analytics/campaigns/{journey_id}`. A message goes
through the outbound queue, whose sender applies the member's grant and `marketing_messages` consent.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.caller import Caller
from storeloop.data import coupon_claims, coupons, points
from storeloop.data.analytics import expiring_coupon_ids
from storeloop.data.journeys import (
    Journey,
    JourneyEntry,
    action_done,
    active_journeys,
    enter,
    entries_of,
    get_entry,
    journey_page,
    load_journey,
    mark_converted,
    new_journey,
    set_active,
)
from storeloop.data.records import images, record_keys, record_kind
from storeloop.data.reminders import coupons_by_id
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, parse_rfc3339, to_rfc3339
from storeloop.domain.errors import ClaimLimitReached, SoldOut
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.journeys import CreateJourneyRequest, JourneyList, JourneyOut, UpdateJourneyRequest
from storeloop.services import messages, recommendations
from storeloop.settings import get_settings

logger = Logger(service="storeloop", child=True)

CONVERSION_WINDOW = timedelta(days=14)
CATCH_UP_DAYS = 2  # the schedule also looks this many days back: a run that failed is made up (entries dedupe)


# ---------------------------------------------------------------------------------------------- admin


def _segments() -> Any | None:
    import importlib

    try:
        return importlib.import_module("storeloop.services.segments")  # the segments feature, when it is there
    except ImportError:
        return None


def _invalid(field: str, issue: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "issue": issue, "message": message}])


def create_journey(caller: Caller, body: CreateJourneyRequest) -> JourneyOut:
    for i, action in enumerate(body.actions):
        if action.type == "grant_coupon" and coupons.get_template(action.template_id) is None:
            raise _invalid(f"actions.{i}.template_id", "unknown", f"coupon template {action.template_id} not found")
    if body.segment_id is not None:
        segments = _segments()
        if segments is None or not _segment_exists(segments, body.segment_id):
            raise _invalid("segment_id", "unknown", f"segment {body.segment_id} not found")
    if body.trigger.type == "no_purchase_for_days" and body.trigger.days is not None \
            and body.trigger.days >= get_settings().points_expiry_days:
        raise _invalid("trigger.days", "too_long",
                       "no_purchase_for_days must be shorter than POINTS_EXPIRY_DAYS (the index it reads ends then)")
    fields = {"name": body.name, "trigger_type": body.trigger.type, "trigger_days": body.trigger.days,
              "segment_id": body.segment_id, "reentry_days": body.reentry_days, "active": body.active,
              "actions_json": _actions_json(body)}
    journey = new_journey("jr_" + uuid.uuid4().hex[:20], fields, to_rfc3339(clock.now()), caller.member_id)
    return JourneyOut(**journey.public())


def _actions_json(body: CreateJourneyRequest) -> str:
    import json

    return json.dumps([a.model_dump(exclude_none=True) for a in body.actions], ensure_ascii=False)


def _segment_exists(segments: Any, segment_id: str) -> bool:
    try:
        segments.get_segment(segment_id)
    except NotFound:
        return False
    return True


def get_journey(journey_id: str) -> JourneyOut:
    journey = load_journey(journey_id, consistent=True)
    if journey is None:
        raise NotFound(f"journey {journey_id} not found")
    return JourneyOut(**journey.public())


def list_journeys(limit: int, cursor: str | None) -> JourneyList:
    items, after = journey_page(limit, cursor)
    return JourneyList(items=[JourneyOut(**j.public()) for j in items], next=after)


def update_journey(journey_id: str, body: UpdateJourneyRequest) -> JourneyOut:
    journey = load_journey(journey_id, consistent=True)
    if journey is None:
        raise NotFound(f"journey {journey_id} not found")
    updated = set_active(journey, body.active)
    if updated is None:
        raise NotFound(f"journey {journey_id} not found")
    return JourneyOut(**updated.public())


# ---------------------------------------------------------------------------------------------- acting


def _in_segment(journey: Journey, member_ids: list[str]) -> set[str]:
    if not journey.segment_id:
        return set(member_ids)
    segments = _segments()
    if segments is None:
        return set()  # a segment that cannot be evaluated admits no one
    return set(segments.audience_of(member_ids, journey.segment_id))


def enter_all(journey: Journey, member_ids: Iterable[str], now: datetime) -> int:
    """Enter each member (segment applying) and do the journey's actions; returns how many entered now."""
    if not journey.active:
        return 0
    ids = list(dict.fromkeys(m for m in member_ids if m and m != "erased"))
    entered = 0
    for member_id in sorted(_in_segment(journey, ids)):
        entered += int(_enter(journey, member_id, now))
    return entered


def _enter(journey: Journey, member_id: str, now: datetime) -> bool:
    window_starts = to_rfc3339(now - timedelta(days=int(journey.reentry_days)))
    entered = enter(journey, member_id, to_rfc3339(now), window_starts)
    entry = get_entry(member_id, journey.journey_id)
    if entry is not None and entry.entered_at >= window_starts and entry.pending:
        _do_pending(journey, entry, now)  # this window's actions, or those a failed attempt left
    return entered


def _do_pending(journey: Journey, entry: JourneyEntry, now: datetime) -> None:
    actions = journey.actions
    for index in sorted(int(i) for i in entry.pending or ()):
        if index >= len(actions):
            continue
        performed = _act(journey, entry, index, actions[index], now)
        action_done(journey.journey_id, entry.member_id, entry.entered_at, index, performed=performed)


def _action_key(journey: Journey, entry: JourneyEntry, index: int) -> str:
    return hashlib.sha256(f"{journey.journey_id}:{entry.member_id}:{entry.entered_at}:{index}".encode()).hexdigest()


def _act(journey: Journey, entry: JourneyEntry, index: int, action: dict[str, Any], now: datetime) -> bool:
    member_id = entry.member_id
    if action["type"] == "grant_coupon":
        template = coupons.cached_template(action["template_id"])
        if template is None:
            return False
        try:
            coupon_claims.claim(template, journey.journey_id, member_id, now,
                                coupon_id="c_" + _action_key(journey, entry, index)[:20])
        except coupon_claims.AlreadyClaimed:
            return True  # granted by an earlier attempt of this window
        except (SoldOut, ClaimLimitReached) as exc:
            logger.info("journey coupon not granted", extra={"journey_id": journey.journey_id,
                                                              "reason": type(exc).__name__})
            return False
        return True
    from storeloop.data.campaign_flow import consenting
    from storeloop.services.consents import MARKETING_MESSAGES

    if member_id not in consenting([member_id], MARKETING_MESSAGES):
        return False  # no marketing consent: nothing is queued (the sender would drop it; the grant is not spent)
    top = recommendations.top_for_member(member_id, _home_store(member_id))
    fields = {"thing1": journey.name[:20], "thing2": (top.name if top else "会员专享好礼")[:20]}
    page = action.get("page") or (f"pages/product/detail?sku={top.sku}" if top else None)
    messages.enqueue_messages([messages.outbound_message(
        member_id, action["template_id"], fields, page, "journey",
        message_id=f"journey-{_action_key(journey, entry, index)[:32]}")])
    return True


def _home_store(member_id: str) -> str | None:
    from storeloop.data import members

    profile = members.get_profile(member_id)
    return getattr(profile, "joined_store_id", None) if profile is not None else None


# ---------------------------------------------------------------------------------------------- conversions


def convert(member_id: str, paid_at: str) -> int:
    """Mark the member's entries a purchase at `paid_at` converts (within 14 days of entering); returns how many."""
    paid = parse_rfc3339(paid_at)
    done = 0
    for entry in entries_of(member_id):
        entered = parse_rfc3339(entry.entered_at)
        if entry.converted_at is None and entered <= paid < entered + CONVERSION_WINDOW:
            done += int(mark_converted(entry.journey_id, member_id, entry.entered_at, to_rfc3339(paid)))
    return done


# ---------------------------------------------------------------------------------------------- the stream


def _china_day(value: str) -> date:
    return parse_rfc3339(value).astimezone(CN_TZ).date()


def paid_sale(record: dict[str, Any]) -> dict[str, Any] | None:
    """A paid order or a finished POS sale on a stream record, as recommendations and conversions need it."""
    kind = record_kind(record)
    old, new = images(record)
    member = new.get("member_id") if new.get("member_id") not in (None, "", "erased") else None
    if kind == "order" and old.get("status") != "paid" and new.get("status") == "paid" \
            and new.get("paid_at"):
        return {"order_key": f"order:{new['order_id']}", "member_id": member, "store_id": new["store_id"],
                "lines": list(new.get("items") or []), "paid_at": new["paid_at"], "day": _china_day(new["paid_at"])}
    if kind == "pos_sale" and old.get("status") != "done" and new.get("status") == "done":
        return {"order_key": f"pos:{new['store_id']}:{new['sale_id']}", "member_id": member,
                "store_id": new["store_id"], "lines": list(new.get("items") or []), "paid_at": new["occurred_at"],
                "day": _china_day(new["occurred_at"])}
    return None


def joined_member(record: dict[str, Any]) -> str | None:
    if record_kind(record) != "member_profile":
        return None
    old, new = images(record)
    if not old.get("joined_at") and new.get("joined_at") and new.get("status", "active") == "active":
        return str(new["member_id"])
    return None


def on_record(record: dict[str, Any], now: datetime) -> None:
    try:
        member = joined_member(record)
        sale = paid_sale(record) if member is None else None
    except (KeyError, TypeError, ValueError) as exc:
        # A record we cannot read (a malformed item, a date out of range) is set aside, as the analytics consumer
        # does: retrying it would block its shard and change nothing.
        pk, sk = record_keys(record)
        logger.error(f"journey stream record set aside: {pk} {sk}", extra={"pk": pk, "sk": sk, "error": repr(exc)})
        return
    if member is not None:
        for journey in active_journeys("joined"):
            enter_all(journey, [member], now)
        return
    if sale is not None:
        recommendations.count_paid(sale)
        if sale["member_id"]:
            convert(sale["member_id"], sale["paid_at"])


def on_stream_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Act on one delivered batch, in order; a record that fails is reported, so Lambda retries from it (every
    step is idempotent, so what came before it is not done twice)."""
    now = clock.now()
    for record in records:
        try:
            on_record(record, now)
        except Exception:
            pk, sk = record_keys(record)
            logger.exception("journey stream record failed", extra={"pk": pk, "sk": sk})
            seq = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            return {"batchItemFailures": [{"itemIdentifier": seq}]}
    return {"batchItemFailures": []}


# ---------------------------------------------------------------------------------------------- the schedule


def _days(first: date, count: int) -> Iterator[date]:
    for d in range(count):
        yield first - timedelta(days=d)


def due_members(journey: Journey, today: date) -> list[str]:
    """Who the time trigger of `journey` is due for today (and the CATCH_UP_DAYS before), through indexes."""
    n = int(journey.trigger_days or 0)
    expiry_days = get_settings().points_expiry_days
    found: list[str] = []
    if journey.trigger_type == "no_purchase_for_days":
        for last_purchase in _days(today - timedelta(days=n), CATCH_UP_DAYS + 1):
            found += [s.member_id for s in points.members_expiring_on(last_purchase + timedelta(days=expiry_days))]
    elif journey.trigger_type == "points_expiring":
        for day in _days(today + timedelta(days=n), CATCH_UP_DAYS + 1):
            if day >= today:
                found += [s.member_id for s in points.members_expiring_on(day) if s.points > 0]
    elif journey.trigger_type == "coupon_expiring":
        for day in _days(today + timedelta(days=n), CATCH_UP_DAYS + 1):
            if day < today:
                continue
            first = f"{day.isoformat()}T00:00:00+08:00"
            before = f"{(day + timedelta(days=1)).isoformat()}T00:00:00+08:00"
            ids = list(dict.fromkeys(expiring_coupon_ids(day.isoformat(), first, before)))
            found += [c.member_id for c in coupons_by_id(ids) if c.status == "active" and c.member_id]
    return list(dict.fromkeys(found))


def run_time_triggers(now: datetime | None = None) -> dict[str, Any]:
    """The daily run: every active journey with a time trigger, for the members due. Rerunning enters no one twice."""
    now = now or clock.now()
    today = now.astimezone(CN_TZ).date()
    summary: dict[str, int] = {}
    for trigger in ("no_purchase_for_days", "points_expiring", "coupon_expiring"):
        for journey in active_journeys(trigger):
            summary[journey.journey_id] = enter_all(journey, due_members(journey, today), now)
    logger.info("journey time triggers", extra={"entered": summary})
    return {"entered": summary}
