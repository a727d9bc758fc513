"""The local scheduler: next fire times of rate and cron expressions as EventBridge Scheduler reads them, in the
schedule's time zone, and which schedules come due."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from local.scheduler import LocalScheduler, cron_field, parse, start_scheduler, zone
from local.schedules import declared, resolve

SHANGHAI = zone("Asia/Shanghai")
CN = timezone(timedelta(hours=8))


def cn(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN)


def nxt(expression: str, after: datetime, tz=SHANGHAI, anchor: datetime | None = None) -> datetime | None:
    return parse(expression, tz, anchor=anchor).next_after(after)


def test_a_daily_cron_fires_at_its_local_time_whatever_zone_now_is_in():
    # 01:59 UTC is 09:59 in Shanghai: the 10:00 run is one minute away, not 8 hours.
    at = nxt("cron(0 10 * * ? *)", datetime(2026, 11, 26, 1, 59, tzinfo=UTC))
    assert at == cn(2026, 11, 26, 10, 0) and at.utcoffset() == timedelta(hours=8)
    assert nxt("cron(0 10 * * ? *)", cn(2026, 11, 26, 10, 0)) == cn(2026, 11, 27, 10, 0)  # strictly after
    assert nxt("cron(0 10 * * ? *)", cn(2026, 11, 26, 10, 0, 30)) == cn(2026, 11, 27, 10, 0)
    assert nxt("cron(30 2 * * ? *)", cn(2026, 12, 31, 23, 0)) == cn(2027, 1, 1, 2, 30)  # over a year's end
    assert nxt("cron(0 10 * * ? *)", datetime(2026, 11, 26, 1, 59, tzinfo=UTC), tz=UTC) == datetime(
        2026, 11, 26, 10, 0, tzinfo=UTC)


def test_hourly_lists_ranges_and_increments():
    assert nxt("cron(0 * * * ? *)", cn(2026, 11, 26, 14, 20)) == cn(2026, 11, 26, 15, 0)
    assert nxt("cron(0 * * * ? *)", cn(2026, 11, 26, 23, 0)) == cn(2026, 11, 27, 0, 0)
    assert nxt("cron(0,30 9-17 * * ? *)", cn(2026, 11, 26, 9, 10)) == cn(2026, 11, 26, 9, 30)
    assert nxt("cron(0,30 9-17 * * ? *)", cn(2026, 11, 26, 17, 30)) == cn(2026, 11, 27, 9, 0)
    assert nxt("cron(*/15 * * * ? *)", cn(2026, 11, 26, 9, 16)) == cn(2026, 11, 26, 9, 30)
    assert nxt("cron(5/20 * * * ? *)", cn(2026, 11, 26, 9, 26)) == cn(2026, 11, 26, 9, 45)
    assert cron_field("5/20", 0, 59) == {5, 25, 45}
    assert cron_field("1-3,10", 0, 59) == {1, 2, 3, 10}
    assert cron_field("?", 1, 31) is None


def test_day_of_week_and_day_of_month():
    # 2026-11-26 is a Thursday; EventBridge counts SUN=1 ... SAT=7.
    assert nxt("cron(0 9 ? * MON-FRI *)", cn(2026, 11, 27, 10, 0)) == cn(2026, 11, 30, 9, 0)  # Fri → Mon
    assert nxt("cron(0 9 ? * 1 *)", cn(2026, 11, 26, 0, 0)) == cn(2026, 11, 29, 9, 0)  # Sunday
    assert nxt("cron(0 9 ? * SAT,SUN *)", cn(2026, 11, 26, 0, 0)) == cn(2026, 11, 28, 9, 0)
    assert nxt("cron(0 0 1 * ? *)", cn(2026, 11, 26, 0, 0)) == cn(2026, 12, 1, 0, 0)
    assert nxt("cron(0 0 31 * ? *)", cn(2026, 11, 26, 0, 0)) == cn(2026, 12, 31, 0, 0)  # November has no 31st
    assert nxt("cron(0 0 29 FEB ? *)", cn(2026, 3, 1, 0, 0)) == cn(2028, 2, 29, 0, 0)  # the next leap year
    assert nxt("cron(0 12 1 JAN ? 2027)", cn(2026, 11, 26, 0, 0)) == cn(2027, 1, 1, 12, 0)
    assert nxt("cron(0 12 1 JAN ? 2025)", cn(2026, 11, 26, 0, 0)) is None  # only in the past


def test_rates_count_from_their_anchor():
    anchor = cn(2026, 11, 26, 9, 0)
    assert nxt("rate(5 minutes)", cn(2026, 11, 26, 9, 7), anchor=anchor) == cn(2026, 11, 26, 9, 10)
    assert nxt("rate(1 minute)", cn(2026, 11, 26, 9, 0), anchor=anchor) == cn(2026, 11, 26, 9, 1)
    assert nxt("rate(1 hour)", cn(2026, 11, 26, 10, 0), anchor=anchor) == cn(2026, 11, 26, 11, 0)
    assert nxt("rate(2 days)", cn(2026, 11, 27, 0, 0), anchor=anchor) == cn(2026, 11, 28, 9, 0)
    assert nxt("at(2026-12-01T08:00:00)", cn(2026, 11, 26, 0, 0)) == cn(2026, 12, 1, 8, 0)
    assert nxt("at(2026-12-01T08:00:00)", cn(2026, 12, 2, 0, 0)) is None


@pytest.mark.parametrize("expression", [
    "cron(0 10 * * * *)",  # neither day field is '?'
    "cron(0 10 ? * ? *)",  # both are
    "cron(0 10 * *)",  # too few fields
    "cron(60 10 * * ? *)", "cron(0 24 * * ? *)", "cron(0 10 32 * ? *)", "cron(0 10 ? * 8 *)",
    "cron(0 10 L * ? *)", "cron(0 10 ? * 6#3 *)", "cron(5-1 * * * ? *)", "cron(*/0 * * * ? *)",
    "cron(? 10 * * ? *)", "rate(0 minutes)", "rate(5 weeks)", "every 5 minutes",
])
def test_what_eventbridge_would_refuse_is_refused(expression):
    with pytest.raises(ValueError):
        parse(expression, SHANGHAI, anchor=cn(2026, 11, 26, 0, 0))


def test_due_fires_each_schedule_once_when_its_time_comes():
    clock = {"now": cn(2026, 11, 26, 9, 59, 30)}
    schedules = {
        "hourly": ("F1", {"ScheduleExpression": "cron(0 * * * ? *)", "ScheduleExpressionTimezone": "Asia/Shanghai"}),
        "daily": ("F2", {"ScheduleExpression": "cron(0 10 * * ? *)", "ScheduleExpressionTimezone": "Asia/Shanghai"}),
        "often": ("F3", {"ScheduleExpression": "rate(1 minute)"}),
        "off": ("F4", {"ScheduleExpression": "rate(1 minute)", "State": "DISABLED"}),
    }
    scheduler = LocalScheduler(schedules, run=lambda name: None, now=lambda: clock["now"])
    assert scheduler.due(clock["now"]) == []
    assert scheduler.next_at() == cn(2026, 11, 26, 10, 0)
    assert sorted(scheduler.due(cn(2026, 11, 26, 10, 0))) == ["daily", "hourly"]
    assert scheduler.due(cn(2026, 11, 26, 10, 0, 20)) == []
    assert scheduler.due(cn(2026, 11, 26, 10, 0, 31)) == ["often"]
    # Asleep for three hours: each comes due once, not once per missed time.
    assert sorted(scheduler.due(cn(2026, 11, 26, 13, 5))) == ["hourly", "often"]
    assert scheduler.next_at() == cn(2026, 11, 26, 13, 5, 30)


def test_the_template_declares_its_schedules_as_scheduler_v2_in_china_time():
    found = declared()
    ours = ("storeloop-local-coupon-expiry-reminders", "storeloop-local-visit-reminders",
            "storeloop-local-analytics-rollup")
    assert set(ours) <= set(found)
    for name in ours:
        props = found[name]
        assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai"
        assert parse(props["ScheduleExpression"], SHANGHAI, anchor=cn(2026, 11, 26, 0, 0)).next_after(
            cn(2026, 11, 26, 0, 0)) is not None
    assert resolve("visit", sorted(found)) == "storeloop-local-visit-reminders"
    with pytest.raises(LookupError):
        resolve("storeloop", sorted(found))


def test_the_background_thread_fires_what_comes_due_and_stops():
    clock = {"now": cn(2026, 11, 26, 9, 59, 59)}
    fired = threading.Event()
    runs: list[str] = []
    schedules = {"daily": ("F", {"ScheduleExpression": "cron(0 10 * * ? *)",
                                 "ScheduleExpressionTimezone": "Asia/Shanghai"})}
    scheduler = LocalScheduler(schedules, run=lambda name: (runs.append(name), fired.set()),
                               now=lambda: clock["now"])
    stop = threading.Event()
    thread = scheduler.start(stop)
    clock["now"] = cn(2026, 11, 26, 10, 0, 0)  # the loop wakes within its short wait and finds it due
    assert fired.wait(5) and runs == ["daily"]
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_start_scheduler_joins_the_cloud_pollers_and_can_be_switched_off(monkeypatch):
    class Cloud:
        schedules = {"hourly": ("F", {"ScheduleExpression": "cron(0 * * * ? *)"})}
        _stop = threading.Event()
        _pollers: list[threading.Thread] = []

        def run_schedule(self, name):
            return name

    cloud = Cloud()
    assert start_scheduler(cloud) is not None and len(cloud._pollers) == 1
    cloud._stop.set()
    cloud._pollers[0].join(timeout=5)
    assert not cloud._pollers[0].is_alive()
    monkeypatch.setenv("STORELOOP_SCHEDULES", "off")
    assert start_scheduler(Cloud()) is None
