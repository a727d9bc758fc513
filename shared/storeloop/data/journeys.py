"""Journeys (marketing automation): the journey, each member's entry into it, and its counters.

Keys (docs/data-model.md, "Journeys and recommendations"):
- journey  `JOURNEY#<id>` / `JOURNEY`; GSI1 `JOURNEYS#<trigger type>` / `<id>` while active (sparse: the
           stream consumer and the schedule find the active journeys of a trigger with one Query); GSI2
           `JOURNEYS` / `<created_at>#<id>` (the admin list). Counters `entered`, `actions_done`, `converted`.
- entry    `MEMBER#<member_id>` / `JENTRY#<journey_id>`: the member's current window (`entered_at`), the actions
           still to do (`pending`, a number set of action indexes) and `converted_at`. In the member's partition,
           so an erasure deletes it, and a conversion finds the member's entries with one Query.

Exactly once per window: the entry is written on condition that there is none or that its window has passed,
in the same transaction as `entered` + 1; an action leaves `pending` in the same transaction as
`actions_done` + 1, and a conversion sets `converted_at` (once) with `converted` + 1. A stream redelivery or a
rerun of the schedule meets the conditions and changes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, NumberAttribute, NumberSetAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.keys import member_pk
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key

JOURNEY_SK = "JOURNEY"
ENTRY_PREFIX = "JENTRY#"
LIST_PK = "JOURNEYS"
CONDITION_FAILED = "ConditionalCheckFailed"


def journey_pk(journey_id: str) -> str:
    return f"JOURNEY#{journey_id}"


def active_pk(trigger_type: str) -> str:
    return f"JOURNEYS#{trigger_type}"


class Journey(Entity):
    journey_id = UnicodeAttribute()
    name = UnicodeAttribute()
    trigger_type = UnicodeAttribute()
    trigger_days = NumberAttribute(null=True)
    segment_id = UnicodeAttribute(null=True)
    actions_json = UnicodeAttribute()  # the validated action list, as the API took it
    reentry_days = NumberAttribute()
    active = BooleanAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    entered = NumberAttribute(default=0)
    actions_done = NumberAttribute(default=0)
    converted = NumberAttribute(default=0)

    @property
    def actions(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], json.loads(self.actions_json))

    def public(self) -> dict[str, Any]:
        return {"journey_id": self.journey_id, "name": self.name,
                "trigger": {"type": self.trigger_type,
                            **({"days": int(self.trigger_days)} if self.trigger_days is not None else {})},
                "segment_id": self.segment_id, "actions": self.actions, "reentry_days": int(self.reentry_days),
                "active": bool(self.active), "created_at": self.created_at, "entered": int(self.entered or 0),
                "actions_done": int(self.actions_done or 0), "converted": int(self.converted or 0)}


class JourneyEntry(Entity):
    journey_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    entered_at = UnicodeAttribute()
    pending = NumberSetAttribute(null=True)
    converted_at = UnicodeAttribute(null=True)


def _entry(member_id: str, journey_id: str) -> JourneyEntry:
    return JourneyEntry(member_pk(member_id), ENTRY_PREFIX + journey_id)


def _journey(journey_id: str) -> Journey:
    return Journey(journey_pk(journey_id), JOURNEY_SK)


def new_journey(journey_id: str, fields: dict[str, Any], created_at: str, created_by: str) -> Journey:
    journey = Journey(journey_pk(journey_id), JOURNEY_SK, journey_id=journey_id, created_at=created_at,
                      created_by=created_by, GSI2PK=LIST_PK, GSI2SK=f"{created_at}#{journey_id}", **fields)
    if journey.active:
        journey.GSI1PK, journey.GSI1SK = active_pk(journey.trigger_type), journey_id
    journey.save(condition=Journey.PK.does_not_exist())
    return journey


def load_journey(journey_id: str, *, consistent: bool = False) -> Journey | None:
    try:
        return Journey.get(journey_pk(journey_id), JOURNEY_SK, consistent_read=consistent)
    except DoesNotExist:
        return None


def set_active(journey: Journey, active: bool) -> Journey | None:
    """Turn the journey on or off (on: listed under its trigger; off: acts on no one). None if it is gone."""
    actions: list[Any] = [Journey.active.set(active)]
    if active:
        actions += [Journey.GSI1PK.set(active_pk(journey.trigger_type)), Journey.GSI1SK.set(journey.journey_id)]
    else:
        actions += [Journey.GSI1PK.remove(), Journey.GSI1SK.remove()]
    try:
        _journey(journey.journey_id).update(actions=actions, condition=Journey.PK.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return load_journey(journey.journey_id, consistent=True)


def active_journeys(trigger_type: str) -> list[Journey]:
    """The active journeys of one trigger (GSI1, eventually consistent: a journey just switched on acts soon)."""
    return [cast(Journey, j) for j in Journey.query(active_pk(trigger_type), index_name="GSI1")]


def journey_page(limit: int, cursor: str | None) -> tuple[list[Journey], str | None]:
    """Every journey, newest first (Query GSI2 `JOURNEYS`), from the client's cursor; the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI2PK", "GSI2SK"), GSI2PK=LIST_PK,
                              check=lambda k: k["PK"].startswith("JOURNEY#"))
    query = Journey.query(LIST_PK, index_name="GSI2", scan_index_forward=False, limit=limit + 1,
                          last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI2")
    return [cast(Journey, j) for j in items], cursors.next_cursor(last)


def enter(journey: Journey, member_id: str, at: str, window_starts: str) -> bool:
    """Enter `member_id` into the journey now, once per window: False if they are in a window that has not passed
    (entered at or after `window_starts`)."""
    pending = set(range(len(journey.actions))) or None
    entry = JourneyEntry(member_pk(member_id), ENTRY_PREFIX + journey.journey_id, journey_id=journey.journey_id,
                         member_id=member_id, entered_at=at, pending=pending)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(entry, condition=JourneyEntry.PK.does_not_exist() | (JourneyEntry.entered_at < window_starts))
            tx.update(_journey(journey.journey_id), actions=[Journey.entered.add(1)], condition=Journey.PK.exists())
    except TransactWriteError as exc:
        if CONDITION_FAILED in cancellation_codes(exc):
            return False
        raise
    return True


def get_entry(member_id: str, journey_id: str) -> JourneyEntry | None:
    try:
        return JourneyEntry.get(member_pk(member_id), ENTRY_PREFIX + journey_id, consistent_read=True)
    except DoesNotExist:
        return None


def entries_of(member_id: str) -> Iterator[JourneyEntry]:
    """The member's journey entries (their own partition: one Query)."""
    for e in JourneyEntry.query(member_pk(member_id), JourneyEntry.SK.startswith(ENTRY_PREFIX)):
        yield cast(JourneyEntry, e)


def action_done(journey_id: str, member_id: str, entered_at: str, index: int, *, performed: bool) -> bool:
    """Take action `index` off the entry's pending set (once), counting it if it was performed."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(_entry(member_id, journey_id), actions=[JourneyEntry.pending.delete({index})],
                      condition=(JourneyEntry.entered_at == entered_at) & JourneyEntry.pending.contains(index))
            if performed:
                tx.update(_journey(journey_id), actions=[Journey.actions_done.add(1)])
    except TransactWriteError as exc:
        if CONDITION_FAILED in cancellation_codes(exc):
            return False
        raise
    return True


def mark_converted(journey_id: str, member_id: str, entered_at: str, at: str) -> bool:
    """Mark the entry converted (once per window) and count it."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(_entry(member_id, journey_id), actions=[JourneyEntry.converted_at.set(at)],
                      condition=(JourneyEntry.entered_at == entered_at) & JourneyEntry.converted_at.does_not_exist())
            tx.update(_journey(journey_id), actions=[Journey.converted.add(1)])
    except TransactWriteError as exc:
        if CONDITION_FAILED in cancellation_codes(exc):
            return False
        raise
    return True
