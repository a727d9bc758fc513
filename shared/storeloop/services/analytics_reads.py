"""The admin analytics routes' answers: a campaign's funnel, a store's days over a date range."""

from __future__ import annotations

from datetime import date, timedelta

from storeloop.data import analytics_reads, campaigns, stores
from storeloop.domain import clock
from storeloop.domain.analytics_events import (
    CAMPAIGN_FIELDS,
    CAMPAIGN_STORE_FIELDS,
    SOURCE_FIELDS,
    STORE_DAY_FIELDS,
    number,
)
from storeloop.domain.clock import CN_TZ
from storeloop.domain.sources import parse_source_key
from storeloop.errors import NotFound, ValidationFailed
from storeloop.schemas.analytics import (
    CampaignAnalyticsOut,
    CampaignSourceOut,
    CampaignStoreOut,
    StoreAnalyticsOut,
    StoreDayOut,
    StoreTotalsOut,
)

MAX_RANGE_DAYS = 93
DEFAULT_RANGE_DAYS = 7


def campaign_analytics(campaign_id: str) -> CampaignAnalyticsOut:
    if campaigns.get_campaign(campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} not found")
    counters = analytics_reads.campaign_counters(campaign_id)
    totals = counters.totals
    claimed, redeemed = number(totals, "claimed"), number(totals, "redeemed")
    return CampaignAnalyticsOut(
        campaign_id=campaign_id, **{f: number(totals, f) for f in CAMPAIGN_FIELDS},
        redemption_rate=round(redeemed / claimed, 4) if claimed > 0 else 0.0,
        by_store=[CampaignStoreOut(store_id=r["store_id"], **{f: number(r, f) for f in CAMPAIGN_STORE_FIELDS})
                  for r in counters.stores],
        by_source=[CampaignSourceOut.model_validate({**parse_source_key(r.get("source_key")),
                                                     **{f: number(r, f) for f in SOURCE_FIELDS}})
                   for r in counters.sources])


def _date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return clock.parse_date(value)  # years 2000-2100: a range near year 1 or 9999 overflows date arithmetic
    except ValueError:
        raise ValidationFailed("dates are YYYY-MM-DD, years 2000-2100", details=[
            {"field": name, "issue": "invalid_date", "message": "expected YYYY-MM-DD, years 2000-2100"}]) from None


def date_range(first: str | None, last: str | None, today: date | None = None) -> tuple[date, date]:
    """The asked range: both ends inclusive, from ≤ to, at most 93 days; by default the 7 days up to today."""
    today = today or clock.now().astimezone(CN_TZ).date()
    start, end = _date(first, "from"), _date(last, "to")
    end = end or (start + timedelta(days=DEFAULT_RANGE_DAYS - 1) if start else today)
    start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValidationFailed("from must not be after to", details=[
            {"field": "from", "issue": "after_to", "message": "from must be on or before to"}])
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"at most {MAX_RANGE_DAYS} days at a time", details=[
            {"field": "to", "issue": "range_too_long", "message": f"the range spans more than {MAX_RANGE_DAYS} days"}])
    return start, end


def store_analytics(store_id: str, first: str | None, last: str | None) -> StoreAnalyticsOut:
    start, end = date_range(first, last)
    if stores.get_store(store_id) is None:
        raise NotFound(f"store {store_id} not found")
    rows = {r["date"]: r for r in analytics_reads.store_days(store_id, start.isoformat(), end.isoformat())}
    days = []
    for n in range((end - start).days + 1):
        day = (start + timedelta(days=n)).isoformat()
        days.append(StoreDayOut(date=day, **{f: number(rows.get(day), f) for f in STORE_DAY_FIELDS}))
    totals = StoreTotalsOut(**{f: sum(getattr(d, f) for d in days) for f in STORE_DAY_FIELDS})
    return StoreAnalyticsOut.model_validate({"store_id": store_id, "from": start.isoformat(), "to": end.isoformat(),
                                             "days": days, "totals": totals})
