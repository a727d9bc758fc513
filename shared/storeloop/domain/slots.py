"""Visit slots: the bookable start/end times of a store's day."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from storeloop.domain.clock import CN_TZ, require_aware

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_MINUTES_PER_DAY = 24 * 60


def _minutes_of_day(value: str, name: str, *, allow_midnight_end: bool = False) -> int:
    """Minutes since midnight for "HH:MM"; "24:00" only as a closing time (open until midnight)."""
    if allow_midnight_end and value == "24:00":
        return _MINUTES_PER_DAY
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise ValueError(f"{name} must be HH:MM (00:00-23:59), got {value!r}")
    return int(value[:2]) * 60 + int(value[3:])


def day_slots(
    day: date,
    open_time: str,
    close_time: str,
    slot_minutes: int,
    tz: tzinfo = CN_TZ,
) -> list[tuple[datetime, datetime]]:
    """The slots of `day` as aware `(start, end)` pairs, back to back from opening time.

    A slot that would end after closing is dropped (a 30-minute grid from 10:00 to 21:45 ends with
    21:00-21:30), because a visit must finish while the store is open. A slot ending exactly at
    closing is kept. `close_time` may be "24:00" for stores open until midnight; overnight hours
    (closing after midnight) are not supported, so `close_time <= open_time` raises ValueError.
    """
    if isinstance(day, datetime) or not isinstance(day, date):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"day must be a date, got {day!r}")
    if isinstance(slot_minutes, bool) or not isinstance(slot_minutes, int) or slot_minutes < 1:
        raise ValueError(f"slot_minutes must be a positive integer, got {slot_minutes!r}")
    opens = _minutes_of_day(open_time, "open_time")
    closes = _minutes_of_day(close_time, "close_time", allow_midnight_end=True)
    if closes <= opens:
        raise ValueError(f"close_time {close_time} must be after open_time {open_time}")

    midnight = datetime.combine(day, time(0, 0), tzinfo=tz)
    slots = []
    # Work in whole minutes from midnight so the grid never drifts; for CN_TZ (a fixed offset) adding a
    # timedelta to the aware midnight is exact.
    for start_minute in range(opens, closes - slot_minutes + 1, slot_minutes):
        start = midnight + timedelta(minutes=start_minute)
        slots.append((start, start + timedelta(minutes=slot_minutes)))
    return slots


def _setting(settings: Mapping[str, Any] | object, name: str) -> Any:
    # Store settings arrive as a dict (the API body, a DynamoDB item) or as a model object.
    if isinstance(settings, Mapping):
        if name not in settings:
            raise ValueError(f"store settings lack {name!r}")
        return settings[name]
    try:
        return getattr(settings, name)
    except AttributeError:
        raise ValueError(f"store settings lack {name!r}") from None


def slots_for_store(
    settings: Mapping[str, Any] | object, day: date, tz: tzinfo = CN_TZ
) -> list[tuple[datetime, datetime]]:
    """`day_slots` with a store's `open_time`, `close_time` and `slot_minutes`."""
    return day_slots(
        day,
        _setting(settings, "open_time"),
        _setting(settings, "close_time"),
        _setting(settings, "slot_minutes"),
        tz,
    )


def is_slot_start(settings: Mapping[str, Any] | object, dt: datetime, tz: tzinfo = CN_TZ) -> bool:
    """True if `dt` is exactly the start of one of the store's slots on that local day.

    `dt` may carry any offset ("2026-11-26T06:00:00Z" is the 14:00 slot in Shanghai); it is compared as
    an instant, so a start one second or microsecond off the grid is not a slot start. Naive `dt`
    raises ValueError.
    """
    require_aware(dt, "dt")
    local_day = dt.astimezone(tz).date()
    return any(start == dt for start, _ in slots_for_store(settings, local_day, tz))


def slot_end(settings: Mapping[str, Any] | object, start: datetime, tz: tzinfo = CN_TZ) -> datetime:
    """The end of the slot starting at `start`; ValueError if `start` is not a slot start."""
    require_aware(start, "start")
    for slot_start, end in slots_for_store(settings, start.astimezone(tz).date(), tz):
        if slot_start == start:
            return end
    raise ValueError(f"{start.isoformat()} is not a slot start for this store")
