"""The local EventBridge Scheduler: fires every schedule template.yaml declares, on its own `rate(...)`, `cron(...)` or
`at(...)` expression in its ScheduleExpressionTimezone, by calling `cloud.run_schedule(name)` (started by `make run`).

Cron follows EventBridge: six fields `minutes hours day-of-month month day-of-week year`, with `*`, `?` (in one of the
two day fields), numbers, names (JAN-DEC, SUN-SAT; day-of-week 1-7 is SUN-SAT), lists `a,b`, ranges `a-b` and
increments `a/n` or `*/n`. `L`, `W` and `#` are not supported (none of our schedules uses them).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Protocol

log = logging.getLogger("local.scheduler")

HORIZON_YEARS = 10  # a cron expression that does not fire within this long is taken to never fire
_FIXED_ZONES = {"UTC": UTC, "Etc/UTC": UTC, "Asia/Shanghai": timezone(timedelta(hours=8)),
                "Asia/Hong_Kong": timezone(timedelta(hours=8)), "Asia/Taipei": timezone(timedelta(hours=8))}
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_WEEKDAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), start=1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def zone(name: str | None) -> tzinfo:
    """The IANA zone (China has no DST, so a fixed offset stands in when the tz database is missing)."""
    name = name or "UTC"
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - no tzdata on this machine: fall back to the zones we use
        if name in _FIXED_ZONES:
            return _FIXED_ZONES[name]
        raise ValueError(f"unknown time zone {name!r}") from None


class Expression(Protocol):
    def next_after(self, after: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class Rate:
    """`rate(N unit)`: every N units from `anchor` (EventBridge counts from when the schedule was created)."""

    every: timedelta
    anchor: datetime

    def next_after(self, after: datetime) -> datetime:
        if after < self.anchor:
            return self.anchor
        periods = int((after - self.anchor) / self.every) + 1
        return self.anchor + periods * self.every


@dataclass(frozen=True)
class At:
    """`at(yyyy-mm-ddThh:mm:ss)`: once, in the schedule's zone."""

    when: datetime

    def next_after(self, after: datetime) -> datetime | None:
        return self.when if self.when > after else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # day of month; None when `?`
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1-7 = SUN-SAT; None when `?`
    years: frozenset[int] | None  # None when `*`
    tz: tzinfo = field(default=UTC)

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.days is not None and day.day not in self.days:
            return False
        return self.weekdays is None or (day.isoweekday() % 7 + 1) in self.weekdays

    def next_after(self, after: datetime) -> datetime | None:
        """The first minute strictly after `after` that the expression names (aware, in the schedule's zone)."""
        start = after.astimezone(self.tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        day = start.date()
        while day.year <= start.year + HORIZON_YEARS:
            if self.years is not None and day.year not in self.years and day.year > max(self.years):
                return None
            if self._day_matches(day):
                first_day = day == start.date()
                for hour in hours:
                    if first_day and hour < start.hour:
                        continue
                    for minute in minutes:
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
            day += timedelta(days=1)
        return None


def _value(token: str, names: dict[str, int] | None) -> int:
    token = token.strip().upper()
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(f"not a number: {token!r}")
    return int(token)


def cron_field(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values one cron field names (None for `?`); ValueError for what EventBridge would refuse."""
    text = text.strip()
    if text == "?":
        return None
    values: set[int] = set()
    for raw in text.split(","):
        part, _, raw_step = raw.partition("/")
        step = _value(raw_step, None) if raw_step else 1
        if step < 1:
            raise ValueError(f"bad increment in {text!r}")
        if part == "*":
            first, last = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _value(a, names), _value(b, names)
        else:
            first = _value(part, names)
            last = hi if raw_step else first  # `5/15`: from 5, every 15
        if not (lo <= first <= hi and lo <= last <= hi) or first > last:
            raise ValueError(f"{raw!r} is outside {lo}-{hi} in {text!r}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _required(text: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> frozenset[int]:
    values = cron_field(text, lo, hi, names)
    if values is None:
        raise ValueError(f"'?' is only for day-of-month or day-of-week, not {what}")
    return values


def parse(expression: str, tz: tzinfo, anchor: datetime | None = None) -> Expression:
    """`rate(...)`, `cron(...)` or `at(...)` as EventBridge Scheduler reads it."""
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        n = int(rate.group(1))
        if n < 1:
            raise ValueError(f"a rate must be at least 1: {expression}")
        every = timedelta(seconds=n * _UNITS[rate.group(2).rstrip("s")])
        return Rate(every, (anchor or datetime.now(tz)).astimezone(tz))
    if expression.startswith("at(") and expression.endswith(")"):
        return At(datetime.fromisoformat(expression[3:-1]).replace(tzinfo=tz))
    if not (expression.startswith("cron(") and expression.endswith(")")):
        raise ValueError(f"not a schedule expression: {expression!r}")
    fields = expression[5:-1].split()
    if len(fields) != 6:
        raise ValueError(f"cron takes 6 fields (minutes hours day-of-month month day-of-week year): {expression}")
    if any(c in f for f in fields for c in "LW#"):
        raise ValueError(f"L, W and # are not supported locally: {expression}")
    minutes, hours, days, months, weekdays, years = fields
    parsed_days = cron_field(days, 1, 31)
    parsed_weekdays = cron_field(weekdays, 1, 7, _WEEKDAYS)
    if (parsed_days is None) == (parsed_weekdays is None):
        raise ValueError(f"exactly one of day-of-month and day-of-week must be '?': {expression}")
    return Cron(minutes=_required(minutes, 0, 59, "minutes"), hours=_required(hours, 0, 23, "hours"),
                days=parsed_days, months=_required(months, 1, 12, "month", _MONTHS), weekdays=parsed_weekdays,
                years=None if years.strip() == "*" else _required(years, 1970, 2199, "year"), tz=tz)


@dataclass
class Entry:
    name: str
    expression: Expression
    next_at: datetime | None


class LocalScheduler:
    """Fires `run(name)` for each schedule when its time comes. `due(now)` is the whole decision (tested alone)."""

    def __init__(self, schedules: dict[str, tuple[str, dict[str, Any]]], run: Callable[[str], Any],
                 now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._run = run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        start = self._now()
        self.entries: list[Entry] = []
        for name, (_, props) in sorted(schedules.items()):
            if str(props.get("State", "ENABLED")).upper() == "DISABLED":
                continue
            tz = zone(props.get("ScheduleExpressionTimezone"))
            expression = parse(str(props["ScheduleExpression"]), tz, anchor=start)
            self.entries.append(Entry(name, expression, expression.next_after(start)))

    def due(self, now: datetime) -> list[str]:
        """The schedules whose time has come by `now`, each once (missed fires collapse into one, as after a sleep);
        their next times move past `now`."""
        fired = []
        for entry in self.entries:
            if entry.next_at is not None and entry.next_at <= now:
                fired.append(entry.name)
                entry.next_at = entry.expression.next_after(now)
        return fired

    def next_at(self) -> datetime | None:
        return min((e.next_at for e in self.entries if e.next_at is not None), default=None)

    def _fire(self, name: str) -> None:
        started = time.monotonic()
        try:
            result = self._run(name)
            log.info("schedule %s ran in %.2fs: %s", name, time.monotonic() - started, result)
        except Exception:  # noqa: BLE001 - a failed run is logged; the schedule fires again next time
            log.exception("schedule %s failed", name)

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self._stop.is_set():
            for name in self.due(self._now()):
                threading.Thread(target=self._fire, args=(name,), daemon=True, name=f"schedule-{name}").start()
            upcoming = self.next_at()
            wait = 60.0 if upcoming is None else (upcoming - self._now()).total_seconds()
            stop.wait(min(max(wait, 0.05), 60.0))

    def start(self, stop: threading.Event | None = None) -> threading.Thread:
        self._thread = threading.Thread(target=self._loop, args=(stop or self._stop,), daemon=True,
                                        name="local-scheduler")
        self._thread.start()
        for entry in self.entries:
            log.info("schedule %s next at %s", entry.name, entry.next_at.isoformat() if entry.next_at else "never")
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_scheduler(cloud: Any) -> LocalScheduler | None:
    """Fire `cloud`'s schedules in the background until the cloud stops (the thread joins the cloud's pollers).
    STORELOOP_SCHEDULES=off leaves them to on-demand runs only."""
    if os.environ.get("STORELOOP_SCHEDULES", "on").strip().lower() in ("off", "0", "false", "no"):
        log.info("schedules run on demand only (STORELOOP_SCHEDULES=off)")
        return None
    scheduler = LocalScheduler(cloud.schedules, cloud.run_schedule)
    thread = scheduler.start(stop=cloud._stop)  # the cloud's own stop event, set by LocalCloud.stop()
    cloud._pollers.append(thread)
    return scheduler


def scheduled_event(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge Scheduler sends for the schedule `name` (its `Input` merged in)."""
    event = props.get("Input")
    payload = json.loads(event) if isinstance(event, str) else (event or {})
    return {"source": "aws.scheduler", "detail-type": "Scheduled Event", "schedule": name,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **payload}
