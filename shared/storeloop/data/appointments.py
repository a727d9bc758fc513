"""Visits: appointments, the per-slot booking counters and the member-slot markers that keep bookings unique.

Keys (docs/data-model.md, "Visits"):
- slot counter      `STORE#<store>#SLOTS#<date>` / `<slot start>`: `booked`; only for slots someone booked.
- member-slot marker `MEMBER#<member>#APPT` / `<store>#<slot start>`: one live booking per member and slot.
- appointment       `APPT#<id>` / `APPT`; GSI1 `MEMBER#<member>#APPTS` / `<slot start>#<id>`,
                    GSI2 `STORE#<store>#APPTS#<date>` / `<slot start>#<id>`.
A slot start in a key is always `to_rfc3339` (+08:00, whole seconds), so keys sort by time.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.keys import member_pk
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.domain.errors import AlreadyBooked, SlotFull

BOOKED, CANCELLED, CHECKED_IN = "booked", "cancelled", "checked_in"
CONDITION_FAILED = "ConditionalCheckFailed"
# Concurrent transactions on one hot counter can be cancelled with TransactionConflict; those are retried.
CONFLICT_ATTEMPTS = 5

T = TypeVar("T")


def slots_pk(store_id: str, day: str) -> str:
    return f"STORE#{store_id}#SLOTS#{day}"


def marker_pk(member_id: str) -> str:
    return f"{member_pk(member_id)}#APPT"


def appointment_pk(appointment_id: str) -> str:
    return f"APPT#{appointment_id}"


def member_index_pk(member_id: str) -> str:
    return f"{member_pk(member_id)}#APPTS"


def store_day_index_pk(store_id: str, day: str) -> str:
    return f"STORE#{store_id}#APPTS#{day}"


def local_day(slot_start: str) -> str:
    """The local date (YYYY-MM-DD) of a key-form slot start, which is always in +08:00."""
    return slot_start[:10]


class SlotCounter(Entity):
    store_id = UnicodeAttribute()
    slot_start = UnicodeAttribute()
    booked = NumberAttribute(default=0)


class MemberSlotMarker(Entity):
    appointment_id = UnicodeAttribute()


class Appointment(Entity):
    appointment_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    slot_start = UnicodeAttribute()
    slot_end = UnicodeAttribute()
    status = UnicodeAttribute()
    coupon_id = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)
    checked_in_at = UnicodeAttribute(null=True)
    checked_in_by = UnicodeAttribute(null=True)

    def public(self) -> dict:
        return {
            "appointment_id": self.appointment_id, "status": self.status, "store_id": self.store_id,
            "slot_start": self.slot_start, "slot_end": self.slot_end, "coupon_id": self.coupon_id,
            "note": self.note, "created_at": self.created_at, "cancelled_at": self.cancelled_at,
            "checked_in_at": self.checked_in_at,
        }


# --- outcomes the service turns into answers ----------------------------------------------------------


class NotActive(Exception):
    """The appointment is no longer `booked` (cancelled or checked in): nothing was changed."""


class Busy(Exception):
    """Transaction conflicts outlasted the retries (a flash of bookings on one slot)."""


@dataclass(frozen=True)
class NewAppointment:
    member_id: str
    store_id: str
    slot_start: str  # key form: to_rfc3339, +08:00
    slot_end: str
    capacity: int
    coupon_id: str | None
    note: str | None
    created_at: str


# --- reads --------------------------------------------------------------------------------------------


def booked_counts(store_id: str, day: str) -> dict[str, int]:
    """Bookings per slot start of one store day: one Query on the day's counter partition."""
    return {c.SK: int(c.booked) for c in SlotCounter.query(slots_pk(store_id, day))}


def get_appointment(appointment_id: str) -> Appointment | None:
    try:
        return Appointment.get(appointment_pk(appointment_id), "APPT", consistent_read=True)
    except DoesNotExist:
        return None


def _own_appointment_key(key: dict[str, str]) -> bool:
    return (key["SK"] == "APPT" and key["PK"].startswith("APPT#")
            and key["GSI1SK"].endswith("#" + key["PK"][len("APPT#"):]))


def member_appointments(member_id: str, limit: int, cursor: str | None) -> tuple[list[Appointment], str | None]:
    """A member's appointments, latest slot first; the next page's cursor, or None on the last page.

    A cursor is only ever a position in the member's own list; anything else is refused (400), not followed. One
    more item than asked is read, so the last page says so (no empty page after it).
    """
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=member_index_pk(member_id),
                              check=_own_appointment_key)
    query = Appointment.gsi1.query(member_index_pk(member_id), scan_index_forward=False, limit=limit + 1,
                                   last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)


def appointments_by_id(appointment_ids: Iterable[str]) -> list[Appointment]:
    """The appointments that exist of these ids (BatchGetItem, in no particular order)."""
    return list(Appointment.batch_get([(appointment_pk(a), "APPT") for a in dict.fromkeys(appointment_ids)]))


def store_day_appointments(store_id: str, day: str) -> list[Appointment]:
    """A store's appointments of one day in slot order (the staff check-in list)."""
    return [cast(Appointment, a) for a in Appointment.gsi2.query(store_day_index_pk(store_id, day))]


# --- writes -------------------------------------------------------------------------------------------


def _codes(exc: TransactWriteError, items: int) -> list[str | None]:
    codes = cancellation_codes(exc)
    return codes if len(codes) == items else [None] * items


def _retry_conflicts(run: Callable[[], T]) -> T:
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return run()
        except TransactWriteError as exc:
            if "TransactionConflict" not in cancellation_codes(exc):
                raise
            if attempt == CONFLICT_ATTEMPTS:
                raise Busy() from exc
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")


def book(new: NewAppointment) -> Appointment:
    """One transaction: take a place in the slot, claim the member's marker for it, write the appointment."""
    appointment_id = "ap_" + uuid.uuid4().hex
    day = local_day(new.slot_start)
    appt = Appointment(
        appointment_pk(appointment_id), "APPT", appointment_id=appointment_id, member_id=new.member_id,
        store_id=new.store_id, slot_start=new.slot_start, slot_end=new.slot_end, status=BOOKED,
        coupon_id=new.coupon_id, note=new.note, created_at=new.created_at,
        GSI1PK=member_index_pk(new.member_id), GSI1SK=f"{new.slot_start}#{appointment_id}",
        GSI2PK=store_day_index_pk(new.store_id, day), GSI2SK=f"{new.slot_start}#{appointment_id}",
    )
    counter = SlotCounter(slots_pk(new.store_id, day), new.slot_start)
    marker = MemberSlotMarker(marker_pk(new.member_id), f"{new.store_id}#{new.slot_start}",
                              appointment_id=appointment_id)

    def run() -> Appointment:
        # Written in the order pynamodb sends them (condition checks, deletes, puts, updates), so the
        # cancellation reasons line up with the calls below.
        with TransactWrite(connection=connection()) as tx:
            tx.save(marker, condition=MemberSlotMarker.PK.does_not_exist())
            tx.save(appt, condition=Appointment.PK.does_not_exist())
            tx.update(counter, actions=[SlotCounter.booked.add(1), SlotCounter.store_id.set(new.store_id),
                                        SlotCounter.slot_start.set(new.slot_start)],
                      condition=SlotCounter.PK.does_not_exist() | (SlotCounter.booked < new.capacity))
        return appt

    try:
        return _retry_conflicts(run)
    except TransactWriteError as exc:
        marker_code, _, counter_code = _codes(exc, 3)
        # Both can fail at once; "you already hold this slot" is the more useful answer then.
        if marker_code == CONDITION_FAILED:
            raise AlreadyBooked() from None
        if counter_code == CONDITION_FAILED:
            raise SlotFull() from None
        raise


def cancel(appt: Appointment, at: str) -> Appointment:
    """booked → cancelled, the slot's place and the member's marker given back, all or nothing, once."""
    counter = SlotCounter(slots_pk(appt.store_id, local_day(appt.slot_start)), appt.slot_start)
    marker = MemberSlotMarker(marker_pk(appt.member_id), f"{appt.store_id}#{appt.slot_start}")

    def run() -> None:
        with TransactWrite(connection=connection()) as tx:  # in pynamodb's sending order, as in book()
            # Only this appointment's marker is removed, and the counter never goes below zero.
            tx.delete(marker, condition=MemberSlotMarker.appointment_id == appt.appointment_id)
            tx.update(appt, actions=[Appointment.status.set(CANCELLED), Appointment.cancelled_at.set(at)],
                      condition=(Appointment.status == BOOKED) & (Appointment.member_id == appt.member_id))
            tx.update(counter, actions=[SlotCounter.booked.add(-1)], condition=SlotCounter.booked > 0)

    try:
        _retry_conflicts(run)
    except TransactWriteError as exc:
        if _codes(exc, 3)[1] == CONDITION_FAILED:
            raise NotActive() from None
        raise
    appt.status, appt.cancelled_at = CANCELLED, at
    return appt


def check_in(appointment_id: str, at: str, staff_member_id: str) -> Appointment:
    """booked → checked_in by a conditional write: once, and never for a cancelled visit."""
    appt = Appointment(appointment_pk(appointment_id), "APPT")
    try:
        appt.update(actions=[Appointment.status.set(CHECKED_IN), Appointment.checked_in_at.set(at),
                             Appointment.checked_in_by.set(staff_member_id)],
                    condition=Appointment.status == BOOKED)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotActive() from None
        raise
    return appt
