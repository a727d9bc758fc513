"""Unit tests for storeloop.domain.clock: +08:00 formatting and strict RFC 3339 parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain.clock import CN_TZ, now, parse_date, parse_rfc3339, require_aware, to_rfc3339


def test_cn_tz_is_a_fixed_plus_eight_offset() -> None:
    assert CN_TZ.utcoffset(None) == timedelta(hours=8)
    # No DST: the offset is the same in January and July.
    assert datetime(2026, 1, 15, tzinfo=CN_TZ).utcoffset() == datetime(2026, 7, 15, tzinfo=CN_TZ).utcoffset()


def test_now_is_aware_utc_and_current() -> None:
    before = datetime.now(UTC)
    value = now()
    after = datetime.now(UTC)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert before <= value <= after


class TestToRfc3339:
    def test_formats_in_shanghai_time_with_seconds(self) -> None:
        assert to_rfc3339(datetime(2026, 11, 26, 6, 0, tzinfo=UTC)) == "2026-11-26T14:00:00+08:00"

    def test_already_cn_is_unchanged(self) -> None:
        assert to_rfc3339(datetime(2026, 11, 26, 14, 0, 5, tzinfo=CN_TZ)) == "2026-11-26T14:00:05+08:00"

    def test_crosses_midnight_into_the_next_local_day(self) -> None:
        assert to_rfc3339(datetime(2026, 11, 26, 16, 0, tzinfo=UTC)) == "2026-11-27T00:00:00+08:00"
        assert to_rfc3339(datetime(2026, 11, 26, 15, 59, 59, tzinfo=UTC)) == "2026-11-26T23:59:59+08:00"

    def test_converts_from_other_offsets(self) -> None:
        new_york = timezone(timedelta(hours=-5))
        assert to_rfc3339(datetime(2026, 12, 31, 20, 30, tzinfo=new_york)) == "2027-01-01T09:30:00+08:00"

    def test_truncates_fractions_never_rounds_up(self) -> None:
        dt = datetime(2026, 11, 26, 13, 59, 59, 999_999, tzinfo=CN_TZ)
        assert to_rfc3339(dt) == "2026-11-26T13:59:59+08:00"

    def test_rejects_naive(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            to_rfc3339(datetime(2026, 11, 26, 14, 0))

    @pytest.mark.parametrize("value", ["2026-11-26T14:00:00+08:00", 1764136800, None])
    def test_rejects_non_datetimes(self, value: object) -> None:
        with pytest.raises(ValueError):
            to_rfc3339(value)  # type: ignore[arg-type]


class TestParseRfc3339:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-26T14:00:00+08:00", datetime(2026, 11, 26, 14, 0, tzinfo=CN_TZ)),
            ("2026-11-26T06:00:00Z", datetime(2026, 11, 26, 6, 0, tzinfo=UTC)),
            ("2026-11-26t06:00:00z", datetime(2026, 11, 26, 6, 0, tzinfo=UTC)),
            ("2026-11-26T01:00:00-05:00", datetime(2026, 11, 26, 6, 0, tzinfo=UTC)),
            (
                "2026-11-26T14:00:00.5+08:00",
                datetime(2026, 11, 26, 14, 0, 0, 500_000, tzinfo=CN_TZ),
            ),
            (
                "2026-11-26T14:00:00.123456+08:00",
                datetime(2026, 11, 26, 14, 0, 0, 123_456, tzinfo=CN_TZ),
            ),
            ("2028-02-29T00:00:00+08:00", datetime(2028, 2, 29, tzinfo=CN_TZ)),
        ],
    )
    def test_accepts_rfc3339(self, text: str, expected: datetime) -> None:
        parsed = parse_rfc3339(text)
        assert parsed == expected
        assert parsed.tzinfo is not None

    def test_keeps_the_offset_as_sent(self) -> None:
        assert parse_rfc3339("2026-11-26T01:00:00-05:00").utcoffset() == timedelta(hours=-5)

    def test_more_than_six_fraction_digits_are_truncated(self) -> None:
        parsed = parse_rfc3339("2026-11-26T14:00:00.123456789+08:00")
        assert parsed.microsecond == 123_456

    @pytest.mark.parametrize(
        "text",
        [
            "2026-11-26T14:00:00",  # naive
            "2026-11-26",  # date only
            "14:00:00+08:00",  # time only
            "2026-11-26 14:00:00+08:00",  # space separator
            "20261126T140000+0800",  # ISO basic format
            "2026-11-26T14:00:00+0800",  # offset without colon
            "2026-11-26T14:00+08:00",  # no seconds
            "2026-11-26T14:00:00.+08:00",  # empty fraction
            "2026-W48-4T14:00:00+08:00",  # week date
            " 2026-11-26T14:00:00+08:00",  # surrounding whitespace
            "2026-11-26T14:00:00+08:00 ",
            "2026-13-01T00:00:00+08:00",  # month 13
            "2026-02-29T00:00:00+08:00",  # not a leap year
            "2026-11-26T24:00:00+08:00",  # hour 24
            "2026-12-31T23:59:60Z",  # leap second: not representable
            "2026-11-26T14:00:00+24:00",  # offset out of range
            "２０２６-11-26T14:00:00+08:00",  # full-width digits
            "",
        ],
    )
    def test_rejects_everything_else(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_rfc3339(text)

    @pytest.mark.parametrize("value", [None, 1764136800, datetime(2026, 11, 26, tzinfo=UTC), b"2026"])
    def test_rejects_non_strings_with_value_error(self, value: object) -> None:
        with pytest.raises(ValueError):
            parse_rfc3339(value)  # type: ignore[arg-type]

    @given(
        st.datetimes(
            min_value=datetime(2000, 1, 1),
            max_value=datetime(2100, 12, 31, 15, 0),  # +08:00 keeps it in 2100
            timezones=st.just(UTC),
        )
    )
    def test_round_trips_through_to_rfc3339_at_second_precision(self, dt: datetime) -> None:
        text = to_rfc3339(dt)
        assert text.endswith("+08:00")
        assert len(text) == len("2026-11-26T14:00:00+08:00")
        assert parse_rfc3339(text) == dt.replace(microsecond=0)


    @pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+08:00", "1000-06-01T12:00:00Z",
                                       "1999-12-31T23:59:59+08:00", "2101-01-01T00:00:00+08:00",
                                       "9999-12-31T23:59:59-12:00"])
    def test_refuses_years_outside_2000_to_2100(self, value: str) -> None:
        with pytest.raises(ValueError, match="out of range"):
            parse_rfc3339(value)

    @pytest.mark.parametrize("value", ["2000-01-01T00:00:00Z", "2100-12-31T23:59:59+08:00"])
    def test_takes_the_bounds_themselves(self, value: str) -> None:
        assert to_rfc3339(parse_rfc3339(value))


class TestParseDate:
    @pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-13-01",
                                       "20261126", "2026-11-26T00:00:00Z", ""])
    def test_refuses(self, value: str) -> None:
        with pytest.raises(ValueError):
            parse_date(value)

    def test_takes_a_date_in_range(self) -> None:
        assert parse_date("2100-12-31").year == 2100


class TestRequireAware:
    def test_returns_aware_unchanged(self) -> None:
        dt = datetime(2026, 1, 1, tzinfo=CN_TZ)
        assert require_aware(dt) is dt

    def test_rejects_naive_naming_the_field(self) -> None:
        with pytest.raises(ValueError, match="claimed_at"):
            require_aware(datetime(2026, 1, 1), "claimed_at")

    def test_rejects_a_tzinfo_without_offset(self) -> None:
        class NoOffset(tzinfo):
            def utcoffset(self, dt: datetime | None) -> None:
                return None

        with pytest.raises(ValueError):
            require_aware(datetime(2026, 1, 1, tzinfo=NoOffset()))
