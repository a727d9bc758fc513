"""Time helpers: China Standard Time (+08:00), aware-UTC now, strict RFC 3339 in and out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

# China has had no daylight saving since 1991, so a fixed offset is exact and needs no tz database
# (the Lambda runtime and the test machines then agree without tzdata).
CN_TZ = timezone(timedelta(hours=8))

# RFC 3339 section 5.6 date-time: a full date, "T", a full time with optional fraction, and a
# mandatory offset. `datetime.fromisoformat` alone would also take naive values, basic formats
# ("20261126T140000") and week dates, none of which clients are allowed to send.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)


# Every date and time the API accepts lies in these years (inclusive): far from datetime's own limits (year 1 and
# 9999, where adding an offset or a day overflows), and from dates no shop ever meant (a till clock at year 1000).
MIN_YEAR = 2000
MAX_YEAR = 2100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def in_bounds(moment: datetime | date) -> bool:
    """Whether a date or a date-time (its year as written) falls in MIN_YEAR..MAX_YEAR."""
    return MIN_YEAR <= moment.year <= MAX_YEAR


def now() -> datetime:
    """The current instant as an aware UTC datetime (callers pass it into the rules, so tests can pin it)."""
    return datetime.now(UTC)


def require_aware(dt: datetime, name: str = "datetime") -> datetime:
    """Return `dt` unchanged if it carries an offset; a naive value is ambiguous, so ValueError."""
    if not isinstance(dt, datetime):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return dt


def to_rfc3339(dt: datetime) -> str:
    """Format an aware datetime in +08:00 with whole seconds, e.g. `2026-11-26T14:00:00+08:00`.

    Fractions are truncated, not rounded, so a formatted time is never later than the instant itself
    (a `valid_until` shown to a shopper never promises an extra second).
    """
    require_aware(dt, "dt")
    return dt.astimezone(CN_TZ).replace(microsecond=0).isoformat()


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time with an offset ("Z" or ±HH:MM) into an aware datetime.

    The offset is kept as sent. Naive times, date-only strings and anything else raise ValueError.
    Lower-case "t"/"z" are accepted because RFC 3339 allows them.
    """
    if not isinstance(value, str):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"expected an RFC 3339 string, got {type(value).__name__}")
    normalized = value.upper()
    if not _RFC3339.fullmatch(normalized):
        raise ValueError(f"not an RFC 3339 date-time with offset: {value!r}")
    try:
        parsed = datetime.fromisoformat(normalized)
    except ValueError as exc:
        # e.g. month 13, or second 60 (leap seconds are not representable).
        raise ValueError(f"invalid RFC 3339 date-time: {value!r}") from exc
    require_aware(parsed, "value")
    if not in_bounds(parsed):
        raise ValueError(f"date-time out of range: years {MIN_YEAR}-{MAX_YEAR} only")
    return parsed


def parse_date(value: str) -> date:
    """A calendar date, strictly YYYY-MM-DD, in MIN_YEAR..MAX_YEAR; ValueError otherwise."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"not a YYYY-MM-DD date: {value!r}")
    parsed = date.fromisoformat(value)
    if not in_bounds(parsed):
        raise ValueError(f"date out of range: years {MIN_YEAR}-{MAX_YEAR} only")
    return parsed
