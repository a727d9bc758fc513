"""Visits: a store day's slots, booking and cancelling a visit, checking it in, a member's appointments."""

from __future__ import annotations

import re
from datetime import timedelta

from storeloop.caller import Caller
from storeloop.data import appointments, coupons, stores
from storeloop.domain.clock import CN_TZ, now, parse_date, to_rfc3339
from storeloop.domain.slots import slot_end, slots_for_store
from storeloop.errors import Conflict, NotFound, RateLimited, ValidationFailed
from storeloop.schemas.appointments import AppointmentList, AppointmentOut, BookAppointmentRequest, SlotList, SlotOut
from storeloop.schemas.stores import ID_PATTERN

# A visit can be booked for any slot that has not started yet, up to this many days ahead (local dates:
# booking on the 1st reaches the slots of the 31st).
BOOKING_HORIZON_DAYS = 30

_ID = re.compile(ID_PATTERN)
_APPOINTMENT_ID = re.compile(r"^ap_[0-9a-f]{32}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _invalid(field: str, issue: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "issue": issue, "message": message}])


def _store(store_id: str) -> stores.Store:
    store = stores.get_store(store_id) if _ID.match(store_id) else None
    if store is None:
        raise NotFound(f"store {store_id} not found")
    return store


def _appointment(appointment_id: str) -> appointments.Appointment | None:
    return appointments.get_appointment(appointment_id) if _APPOINTMENT_ID.match(appointment_id) else None


def _not_active(status: str) -> Conflict:
    return Conflict(f"this appointment is {status.replace('_', ' ')}", code="APPOINTMENT_NOT_ACTIVE")


def list_slots(store_id: str, day_text: str) -> SlotList:
    """Every slot of the store's day with the places left: the store's hours plus one Query for the counters."""
    try:
        day = parse_date(day_text) if _DATE.match(day_text) else None  # years 2000-2100
    except ValueError:
        day = None
    if day is None:
        raise _invalid("date", "invalid", "date must be a calendar date, YYYY-MM-DD")
    store = _store(store_id)
    booked = appointments.booked_counts(store_id, day.isoformat())
    capacity = int(store.slot_capacity)
    slots = []
    for start, end in slots_for_store(store, day):
        key = to_rfc3339(start)
        # max(): a store's capacity may have been lowered below what a slot already holds.
        slots.append(SlotOut(start=key, end=to_rfc3339(end), remaining=max(0, capacity - booked.get(key, 0))))
    return SlotList(slots=slots)


def book_appointment(caller: Caller, body: BookAppointmentRequest) -> AppointmentOut:
    """Take a place in a slot; SLOT_FULL when it has none, ALREADY_BOOKED when the caller already holds one."""
    store = _store(body.store_id)
    at = now()
    try:
        end = slot_end(store, body.slot_start)
    except ValueError:
        raise _invalid("slot_start", "not_a_slot_start", "slot_start is not the start of one of this store's slots") \
            from None
    if body.slot_start <= at:
        raise _invalid("slot_start", "in_the_past", "this slot has already started")
    last_day = at.astimezone(CN_TZ).date() + timedelta(days=BOOKING_HORIZON_DAYS)
    if body.slot_start.astimezone(CN_TZ).date() > last_day:
        raise _invalid("slot_start", "too_far_ahead", f"visits can be booked at most {BOOKING_HORIZON_DAYS} days ahead")
    if body.coupon_id is not None:
        coupon = coupons.get_coupon(body.coupon_id)
        if coupon is None or coupon.member_id != caller.member_id:
            # Someone else's coupon answers as an unknown one: ids are not to be probed.
            raise NotFound(f"coupon {body.coupon_id} not found", code="COUPON_NOT_FOUND")
    try:
        appt = appointments.book(appointments.NewAppointment(
            member_id=caller.member_id, store_id=body.store_id, slot_start=to_rfc3339(body.slot_start),
            slot_end=to_rfc3339(end), capacity=int(store.slot_capacity), coupon_id=body.coupon_id,
            note=body.note or None, created_at=to_rfc3339(at)))
    except appointments.Busy:
        raise RateLimited("this slot is being booked by many people at once, retry",
                          headers={"Retry-After": "1"}) from None
    return AppointmentOut(**appt.public())


def cancel_appointment(caller: Caller, appointment_id: str) -> AppointmentOut:
    """booked → cancelled by its owner, the place and the member's marker freed exactly once."""
    appt = _appointment(appointment_id)
    if appt is None or appt.member_id != caller.member_id:
        raise NotFound(f"appointment {appointment_id} not found")
    if appt.status != appointments.BOOKED:
        raise _not_active(appt.status)
    try:
        appointments.cancel(appt, to_rfc3339(now()))
    except appointments.NotActive:
        raise _not_active("no longer booked") from None
    except appointments.Busy:
        raise RateLimited("this appointment is busy, retry", headers={"Retry-After": "1"}) from None
    return AppointmentOut(**appt.public())


def store_of_appointment(appointment_id: str) -> str:
    """The store an appointment is at, for the caller's permission check; 404 if there is no such appointment."""
    appt = _appointment(appointment_id)
    if appt is None:
        raise NotFound(f"appointment {appointment_id} not found")
    return appt.store_id


def check_in_appointment(staff: Caller, appointment_id: str) -> AppointmentOut:
    """booked → checked_in, once; the caller's right to check in at its store is checked before."""
    try:
        appt = appointments.check_in(appointment_id, to_rfc3339(now()), staff.member_id)
    except appointments.NotActive:
        current = appointments.get_appointment(appointment_id)
        raise _not_active(current.status if current else "gone") from None
    return AppointmentOut(**appt.public())


def my_appointments(caller: Caller, limit: int, cursor: str | None) -> AppointmentList:
    """The caller's appointments, latest slot first, a page at a time."""
    items, after = appointments.member_appointments(caller.member_id, limit, cursor)
    return AppointmentList(items=[AppointmentOut(**a.public()) for a in items], next=after)
