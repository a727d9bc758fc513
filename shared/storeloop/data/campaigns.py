"""Campaigns: the campaign item, its status changes by conditional write, and the index of published campaigns."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import cast

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from storeloop.data import cursors
from storeloop.data.keys import campaign_pk
from storeloop.data.models import Entity
from storeloop.domain.clock import parse_rfc3339

# GSI1 holds published (scheduled or live) campaigns only, ordered by end: `GET /campaigns` reads the ones that
# have not ended yet with one Query. Cancelling takes a campaign out of the index.
PUBLISHED_PARTITION = "CAMPAIGNS#PUBLISHED"

# The stored status. `live` and `ended` are not written by this module but by the campaign flow
# (data/campaign_flow.py, Step Functions); what the API shows is read from the clock (Campaign.status_at), so a
# claim never waits for the flow: a published campaign is `scheduled` until starts_at, `live` until ends_at.
DRAFT, SCHEDULED, CANCELLED = "draft", "scheduled", "cancelled"
PUBLISHED_STATUSES = (SCHEDULED, "live", "ended")
PAUSED = "paused"  # HQ paused a live campaign (data/campaign_admin.py): claims refused until resumed
ALL_CAMPAIGNS = "CAMPAIGNS"  # GSI2 partition of every campaign, newest first (HQ's list, data/campaign_admin.py)


class NotChanged(Exception):
    """A conditional status change did not apply; the caller re-reads the campaign to say why."""


class Campaign(Entity):
    campaign_id = UnicodeAttribute()
    name = UnicodeAttribute()
    status = UnicodeAttribute()
    starts_at = UnicodeAttribute()  # RFC 3339, +08:00
    ends_at = UnicodeAttribute()
    template_ids = ListAttribute(of=UnicodeAttribute)
    reminder_template_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    cancelled_at = UnicodeAttribute(null=True)
    audience_segment_id = UnicodeAttribute(null=True)  # issue 9: only this segment's shoppers see and claim it
    expected_peak_rps = NumberAttribute(null=True)  # claims/s at the start: the warm flow provisions for it

    def status_at(self, now: datetime) -> str:
        """draft and cancelled as stored; a published campaign is scheduled, live or ended by the clock."""
        if self.status == PAUSED:
            return "ended" if now >= parse_rfc3339(self.ends_at) else PAUSED
        if self.status not in PUBLISHED_STATUSES:
            return self.status
        if now < parse_rfc3339(self.starts_at):
            return SCHEDULED
        return "live" if now < parse_rfc3339(self.ends_at) else "ended"

    def template_id_list(self) -> list[str]:
        return [str(t) for t in self.template_ids]

    def has_ended(self, now: datetime) -> bool:
        return now >= parse_rfc3339(self.ends_at)

    def public(self, now: datetime) -> dict:
        return {
            "campaign_id": self.campaign_id, "name": self.name, "status": self.status_at(now),
            "starts_at": self.starts_at, "ends_at": self.ends_at, "template_ids": self.template_id_list(),
            "reminder_template_id": self.reminder_template_id, "created_at": self.created_at,
            "published_at": self.published_at, "cancelled_at": self.cancelled_at,
            "audience": {"segment_id": self.audience_segment_id} if self.audience_segment_id else None,
            "expected_peak_rps": int(self.expected_peak_rps) if self.expected_peak_rps else None,
        }


def create_campaign(campaign_id: str, name: str, starts_at: str, ends_at: str, template_ids: list[str],
                    reminder_template_id: str | None, created_at: str, created_by: str,
                    audience_segment_id: str | None = None, *, expected_peak_rps: int | None = None) -> Campaign:
    campaign = Campaign(campaign_pk(campaign_id), "CAMPAIGN", campaign_id=campaign_id, name=name, status=DRAFT,
                        starts_at=starts_at, ends_at=ends_at, template_ids=template_ids,
                        reminder_template_id=reminder_template_id, created_at=created_at, created_by=created_by,
                        audience_segment_id=audience_segment_id, expected_peak_rps=expected_peak_rps,
                        GSI2PK=ALL_CAMPAIGNS, GSI2SK=f"{time.time_ns():020d}#{campaign_id}")
    campaign.save(condition=Campaign.PK.does_not_exist())
    return campaign


def get_campaign(campaign_id: str, *, consistent: bool = False) -> Campaign | None:
    try:
        return Campaign.get(campaign_pk(campaign_id), "CAMPAIGN", consistent_read=consistent)
    except DoesNotExist:
        return None


# Claims read the campaign on every request; at a flash sale's 10,000 claims/s that one item would take more reads
# than a partition serves, so a warm container keeps it this long. A cancel reaches other containers within this
# time (docs/coupons.md); this container forgets at once.
CACHE_SECONDS = 1.0
_cache: dict[str, tuple[float, Campaign]] = {}
_cache_lock = threading.Lock()


def cached_campaign(campaign_id: str) -> Campaign | None:
    hit = _cache.get(campaign_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    campaign = get_campaign(campaign_id)
    if campaign is not None:
        with _cache_lock:
            if len(_cache) >= 1_000:
                _cache.clear()
            _cache[campaign_id] = (time.monotonic(), campaign)
    return campaign


def forget(campaign_id: str) -> None:
    _cache.pop(campaign_id, None)


def publish(campaign_id: str, ends_at: str, at: str) -> Campaign:
    """draft → scheduled, only before ends_at; the campaign enters the published index. NotChanged otherwise.

    `ends_at` is the campaign's own (it never changes): an update expression cannot build the index's sort key
    from the item's attributes, so the caller, who has read the campaign, passes it in.
    """
    item = Campaign(campaign_pk(campaign_id), "CAMPAIGN")
    try:
        item.update(
            actions=[Campaign.status.set(SCHEDULED), Campaign.published_at.set(at),
                     Campaign.GSI1PK.set(PUBLISHED_PARTITION), Campaign.GSI1SK.set(f"{ends_at}#{campaign_id}")],
            condition=(Campaign.status == DRAFT) & (Campaign.ends_at > at),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(campaign_id) from None
        raise
    return item


def cancel(campaign_id: str, at: str) -> Campaign:
    """draft or scheduled → cancelled, only before ends_at; out of the published index. NotChanged otherwise."""
    item = Campaign(campaign_pk(campaign_id), "CAMPAIGN")
    try:
        item.update(
            actions=[Campaign.status.set(CANCELLED), Campaign.cancelled_at.set(at),
                     Campaign.GSI1PK.remove(), Campaign.GSI1SK.remove()],
            condition=Campaign.status.is_in(DRAFT, PAUSED, *PUBLISHED_STATUSES) & (Campaign.ends_at > at),
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(campaign_id) from None
        raise
    return item


LIST_KEY_NAMES = ("PK", "SK", "GSI1PK", "GSI1SK")


def _list_key(key: dict[str, str]) -> bool:
    return all(len(v) <= 200 for v in key.values()) and key["PK"].startswith("CAMPAIGN#")


def live_campaigns(now: str, limit: int, cursor: str | None) -> tuple[list[Campaign], str | None]:
    """Published campaigns live at `now` (started, not ended), soonest end first, a page at a time.

    One Query on GSI1 `CAMPAIGNS#PUBLISHED` with `GSI1SK > now` (the sort key starts with ends_at, so ended
    campaigns are outside the key range) and a filter on starts_at (scheduled ones are few). The client's cursor
    must be a key of this list (else 400); the next page's cursor comes back.
    """
    start_key = cursors.start_key(cursor, LIST_KEY_NAMES, GSI1PK=PUBLISHED_PARTITION, SK="CAMPAIGN", check=_list_key)
    query = Campaign.gsi1.query(PUBLISHED_PARTITION, Entity.GSI1SK > now,
                                filter_condition=(Campaign.starts_at <= now) & (Campaign.status != PAUSED),
                                limit=limit + 1, page_size=limit + 1,
                                last_evaluated_key=_dynamo_key(start_key))
    items = cast(list[Campaign], list(query))  # GSI1 is declared on Entity; this partition holds only Campaign items
    if len(items) <= limit:
        return items, None
    last = items[limit - 1]
    return items[:limit], cursors.next_cursor({name: getattr(last, name) for name in LIST_KEY_NAMES})


def _dynamo_key(key: dict[str, str] | None) -> dict[str, dict[str, str]] | None:
    return {k: {"S": v} for k, v in key.items()} if key else None
