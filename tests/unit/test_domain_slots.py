"""Unit tests for storeloop.domain.slots: a store day's visit slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain.clock import CN_TZ
from storeloop.domain.slots import day_slots, is_slot_start, slot_end, slots_for_store

DAY = date(2026, 11, 26)
STORE = {
    "open_time": "10:00",
    "close_time": "22:00",
    "slot_minutes": 30,
    "slot_capacity": 4,
}


def cn(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=CN_TZ)


class TestDaySlots:
    def test_a_standard_day(self) -> None:
        slots = day_slots(DAY, "10:00", "22:00", 30)
        assert len(slots) == 24
        assert slots[0] == (cn(10), cn(10, 30))
        assert slots[1] == (cn(10, 30), cn(11))
        assert slots[-1] == (cn(21, 30), cn(22))  # ends exactly at closing: kept

    def test_slots_are_back_to_back_and_aware_in_cn(self) -> None:
        slots = day_slots(DAY, "10:00", "22:00", 30)
        for (_, end), (next_start, _) in pairwise(slots):
            assert end == next_start
        for start, end in slots:
            assert start.utcoffset() == end.utcoffset() == timedelta(hours=8)
            assert end - start == timedelta(minutes=30)

    def test_a_slot_that_would_end_after_closing_is_dropped(self) -> None:
        slots = day_slots(DAY, "10:00", "21:45", 30)
        assert slots[-1] == (cn(21), cn(21, 30))
        assert len(slots) == 23

    def test_one_minute_short_drops_the_last_slot(self) -> None:
        assert day_slots(DAY, "10:00", "21:59", 30)[-1] == (cn(21), cn(21, 30))
        assert day_slots(DAY, "10:00", "22:00", 30)[-1] == (cn(21, 30), cn(22))
        assert day_slots(DAY, "10:00", "22:01", 30)[-1] == (cn(21, 30), cn(22))

    def test_a_single_slot_that_fits_exactly(self) -> None:
        assert day_slots(DAY, "10:00", "10:45", 45) == [(cn(10), cn(10, 45))]

    def test_no_slot_when_the_day_is_shorter_than_a_slot(self) -> None:
        assert day_slots(DAY, "10:00", "10:29", 30) == []

    def test_uneven_slot_length(self) -> None:
        slots = day_slots(DAY, "10:00", "22:00", 45)
        assert len(slots) == 16  # 720 minutes / 45
        assert slots[-1] == (cn(21, 15), cn(22))
        slots = day_slots(DAY, "09:10", "12:00", 50)
        # 11:40 would end at 12:30, after closing.
        assert [s for s, _ in slots] == [cn(9, 10), cn(10), cn(10, 50)]

    def test_whole_day_and_midnight_close(self) -> None:
        slots = day_slots(DAY, "00:00", "24:00", 60)
        assert len(slots) == 24
        assert slots[0] == (cn(0), cn(1))
        assert slots[-1] == (cn(23), cn(0, day=DAY + timedelta(days=1)))

    def test_one_minute_slots(self) -> None:
        slots = day_slots(DAY, "23:58", "24:00", 1)
        assert slots == [
            (cn(23, 58), cn(23, 59)),
            (cn(23, 59), cn(0, day=DAY + timedelta(days=1))),
        ]

    def test_other_timezone(self) -> None:
        slots = day_slots(DAY, "10:00", "11:00", 30, tz=UTC)
        assert slots[0][0] == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def test_a_leap_day(self) -> None:
        assert day_slots(date(2028, 2, 29), "10:00", "11:00", 60) == [
            (cn(10, day=date(2028, 2, 29)), cn(11, day=date(2028, 2, 29)))
        ]

    @pytest.mark.parametrize(
        ("open_time", "close_time"),
        [("10:00", "10:00"), ("22:00", "10:00"), ("10:01", "10:00")],
    )
    def test_rejects_close_not_after_open(self, open_time: str, close_time: str) -> None:
        with pytest.raises(ValueError, match="after"):
            day_slots(DAY, open_time, close_time, 30)

    @pytest.mark.parametrize(
        ("open_time", "close_time"),
        [
            ("9:00", "22:00"),
            ("10:00", "2200"),
            ("10:60", "22:00"),
            ("24:00", "24:00"),  # 24:00 only closes a day
            ("10:00", "24:01"),
            ("10:00", "25:00"),
            ("10:00:00", "22:00"),
            (" 10:00", "22:00"),
            ("10:00", "22:00\n"),
            ("１０:00", "22:00"),
            (1000, "22:00"),
            ("10:00", None),
        ],
    )
    def test_rejects_malformed_times(self, open_time: Any, close_time: Any) -> None:
        with pytest.raises(ValueError):
            day_slots(DAY, open_time, close_time, 30)

    @pytest.mark.parametrize("slot_minutes", [0, -30, 30.0, True, "30", None])
    def test_rejects_bad_slot_length(self, slot_minutes: Any) -> None:
        with pytest.raises(ValueError):
            day_slots(DAY, "10:00", "22:00", slot_minutes)

    @pytest.mark.parametrize("day", [datetime(2026, 11, 26, 10, 0, tzinfo=CN_TZ), "2026-11-26", None])
    def test_rejects_a_non_date_day(self, day: Any) -> None:
        with pytest.raises(ValueError):
            day_slots(day, "10:00", "22:00", 30)

    @given(
        st.integers(min_value=0, max_value=1439),
        st.integers(min_value=1, max_value=1440),
        st.integers(min_value=1, max_value=240),
    )
    def test_slots_fit_inside_opening_hours(self, opens: int, length: int, slot_minutes: int) -> None:
        closes = min(opens + length, 1440)

        def hhmm(minutes: int) -> str:
            return "24:00" if minutes == 1440 else f"{minutes // 60:02d}:{minutes % 60:02d}"

        slots = day_slots(DAY, hhmm(opens), hhmm(closes), slot_minutes)
        open_at = cn(0) + timedelta(minutes=opens)
        close_at = cn(0) + timedelta(minutes=closes)
        assert len(slots) == (closes - opens) // slot_minutes
        for start, end in slots:
            assert open_at <= start < end <= close_at
            assert end - start == timedelta(minutes=slot_minutes)
        # Whatever is left after the last slot is shorter than a slot.
        last_end = slots[-1][1] if slots else open_at
        assert close_at - last_end < timedelta(minutes=slot_minutes)


class TestIsSlotStart:
    @pytest.mark.parametrize(
        ("dt", "expected"),
        [
            (cn(10), True),
            (cn(10, 30), True),
            (cn(21, 30), True),  # the last slot
            (cn(22), False),  # closing time starts nothing
            (cn(9, 30), False),  # before opening
            (cn(10, 15), False),  # off the grid
            (cn(10, 0, 1), False),  # one second late
            (cn(10) + timedelta(microseconds=1), False),
            (cn(10) - timedelta(microseconds=1), False),
            (datetime(2026, 11, 26, 6, 0, tzinfo=UTC), True),  # 14:00 in Shanghai
            (datetime(2026, 11, 26, 6, 15, tzinfo=UTC), False),
            # 01:00-05:00 is 14:00+08:00.
            (datetime(2026, 11, 26, 1, 0, tzinfo=timezone(timedelta(hours=-5))), True),
        ],
    )
    def test_grid(self, dt: datetime, expected: bool) -> None:
        assert is_slot_start(STORE, dt) is expected

    def test_local_day_is_taken_in_the_store_timezone(self) -> None:
        # 2026-11-25T16:00Z is 00:00 on the 26th in Shanghai.
        night_store = {"open_time": "00:00", "close_time": "06:00", "slot_minutes": 60}
        assert is_slot_start(night_store, datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
        # 22:00Z is 06:00 local: closing time, not a start.
        assert not is_slot_start(night_store, datetime(2026, 11, 25, 22, 0, tzinfo=UTC))

    def test_accepts_settings_objects(self) -> None:
        @dataclass
        class Store:
            open_time: str = "10:00"
            close_time: str = "22:00"
            slot_minutes: int = 30

        assert is_slot_start(Store(), cn(10, 30))
        assert not is_slot_start(Store(), cn(10, 31))

    @pytest.mark.parametrize("missing", ["open_time", "close_time", "slot_minutes"])
    def test_missing_settings(self, missing: str) -> None:
        settings = {k: v for k, v in STORE.items() if k != missing}
        with pytest.raises(ValueError, match=missing):
            is_slot_start(settings, cn(10))

    def test_missing_attribute(self) -> None:
        with pytest.raises(ValueError, match="open_time"):
            is_slot_start(object(), cn(10))

    def test_rejects_naive(self) -> None:
        with pytest.raises(ValueError):
            is_slot_start(STORE, datetime(2026, 11, 26, 10, 0))

    def test_bad_store_settings_raise(self) -> None:
        with pytest.raises(ValueError):
            is_slot_start({**STORE, "close_time": "09:00"}, cn(10))


class TestSlotHelpers:
    def test_slots_for_store(self) -> None:
        assert slots_for_store(STORE, DAY) == day_slots(DAY, "10:00", "22:00", 30)

    def test_slot_end(self) -> None:
        assert slot_end(STORE, cn(21, 30)) == cn(22)
        assert slot_end(STORE, datetime(2026, 11, 26, 6, 0, tzinfo=UTC)) == cn(14, 30)

    @pytest.mark.parametrize("start", [cn(22), cn(10, 1), cn(9, 30)])
    def test_slot_end_rejects_non_starts(self, start: datetime) -> None:
        with pytest.raises(ValueError, match="not a slot start"):
            slot_end(STORE, start)
