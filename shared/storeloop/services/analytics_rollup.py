"""The nightly roll-up: close a day's analytics, reconciling each store day with its source records.

It also writes the brand's day total and a snapshot of every campaign live that day; docs/analytics.md says what
it checks and how to correct drift.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import analytics_reads, analytics_rollup
from storeloop.domain import clock
from storeloop.domain.analytics_events import CAMPAIGN_FIELDS, STORE_DAY_FIELDS, number
from storeloop.domain.clock import CN_TZ, to_rfc3339

logger = Logger(service="storeloop", child=True)


def rollup_day(reference: datetime | None = None) -> date:
    """The day a roll-up at `reference` closes: the day before, in China Standard Time."""
    return (reference or clock.now()).astimezone(CN_TZ).date() - timedelta(days=1)


def rollup(day: date) -> dict[str, Any]:
    """Close `day`: reconcile each active store's redemptions and visits with their source records, write the
    brand's day total and a snapshot of every campaign live that day. Idempotent: every write is a recomputation.

    Drift (a counter that disagrees with its source) is recorded and logged, never corrected here: the stream may
    still be delivering, and a correction racing it would count twice. docs/analytics.md says how to correct.
    """
    d = day.isoformat()
    stamp = to_rfc3339(clock.now())
    drift: list[dict[str, Any]] = []
    totals = dict.fromkeys(STORE_DAY_FIELDS, 0)
    rows = analytics_rollup.store_days_on(d)
    for row in rows:
        store_id = row["store_id"]
        source = {"redemptions": analytics_rollup.count_store_redemptions(store_id, d),
                  "visits": analytics_rollup.count_store_visits(store_id, d)}
        off = {f: {"counted": number(row, f), "source": n} for f, n in source.items() if number(row, f) != n}
        analytics_rollup.close_store_day(store_id, d, source, off, stamp)
        drift += [{"store_id": store_id, "field": f, **v} for f, v in off.items()]
        for f in STORE_DAY_FIELDS:
            totals[f] += number(row, f)
    analytics_rollup.put_brand_day(d, {"date": d, **totals, "stores": len(rows), "closed_at": stamp,
                                       "drift": len(drift)})
    start = datetime(day.year, day.month, day.day, tzinfo=CN_TZ)
    live = analytics_rollup.campaigns_live_on(to_rfc3339(start),
                                              to_rfc3339(start + timedelta(days=1) - timedelta(seconds=1)))
    for campaign in live:
        campaign_id = campaign["campaign_id"]
        counters = analytics_reads.campaign_counters(campaign_id).totals
        values = {f: number(counters, f) for f in CAMPAIGN_FIELDS}
        rate = values["redeemed"] / values["claimed"] if values["claimed"] > 0 else 0.0
        standing = analytics_rollup.count_campaign_redemptions(campaign_id)
        if standing != values["redeemed"]:
            drift.append({"campaign_id": campaign_id, "field": "redeemed", "counted": values["redeemed"],
                          "source": standing})
        analytics_rollup.put_campaign_snapshot(campaign_id, d, {
            "campaign_id": campaign_id, "date": d, **values, "redemption_rate": Decimal(str(round(rate, 4))),
            "source_redeemed": standing, "taken_at": stamp})
    for item in drift:
        logger.warning("analytics drift", extra={"date": d, **item})
    logger.info("analytics roll-up", extra={"date": d, "stores": len(rows), "campaigns": len(live),
                                            "drift": len(drift)})
    return {"date": d, "stores": len(rows), "campaigns": len(live), "totals": totals, "drift": drift}
