"""The analytics' pure rules (domain/analytics_events.py): repeat buyers."""

from __future__ import annotations

from storeloop.domain import analytics_events


def test_repeat_buyers_pair_orders_within_30_days_whatever_order_they_arrive_in():
    def paid(*entries):
        return {f"o{i}": {"at": at, "campaigns": list(c)} for i, (at, c) in enumerate(entries)}

    assert analytics_events.repeat_campaigns(paid(("2026-11-01T10:00:00+08:00", ["A"]))) == set()
    assert analytics_events.repeat_campaigns(paid(("2026-11-01T10:00:00+08:00", ["A"]),
                                                  ("2026-12-01T10:00:00+08:00", []))) == {"A"}  # exactly 30 days
    assert analytics_events.repeat_campaigns(paid(("2026-12-01T10:00:01+08:00", []),
                                                  ("2026-11-01T10:00:00+08:00", ["A"]))) == set()  # a second too late
    assert analytics_events.repeat_campaigns(paid(("2026-11-20T10:00:00+08:00", []),
                                                  ("2026-11-02T10:00:00+08:00", ["B"]),
                                                  ("2026-11-01T10:00:00+08:00", []))) == {"B"}
    assert analytics_events.repeat_campaigns(paid(("2026-11-01T10:00:00+08:00", []),
                                                  ("2026-11-03T10:00:00+08:00", []))) == set()  # no campaign involved
