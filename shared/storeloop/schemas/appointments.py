"""Visits: the slot list, the booking request and the appointment as clients see it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from storeloop.domain.clock import parse_rfc3339
from storeloop.schemas import Model, RequestModel
from storeloop.schemas.stores import ID_PATTERN

NOTE_MAX_CHARS = 200


class SlotOut(Model):
    start: str
    end: str
    remaining: int


class SlotList(Model):
    slots: list[SlotOut]


class BookAppointmentRequest(RequestModel):
    store_id: str = Field(pattern=ID_PATTERN)
    slot_start: datetime = Field(description="RFC 3339 with offset, the start of one of the store's slots")
    coupon_id: str | None = Field(default=None, pattern=ID_PATTERN, description="a coupon of the caller's")
    note: str | None = Field(default=None, max_length=NOTE_MAX_CHARS)

    @field_validator("slot_start", mode="before")
    @classmethod
    def _rfc3339(cls, v: object) -> datetime:
        # Strict RFC 3339 with an offset: pydantic alone would take naive times and unix timestamps.
        return parse_rfc3339(v)  # type: ignore[arg-type]


class AppointmentOut(Model):
    appointment_id: str
    status: Literal["booked", "cancelled", "checked_in"]
    store_id: str
    slot_start: str
    slot_end: str
    coupon_id: str | None = None
    note: str | None = None
    created_at: str
    cancelled_at: str | None = None
    checked_in_at: str | None = None


class AppointmentList(Model):
    items: list[AppointmentOut]
    next: str | None = None
