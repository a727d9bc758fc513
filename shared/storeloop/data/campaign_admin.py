"""HQ's side of campaigns: every campaign newest first (GSI2 `CAMPAIGNS`), draft edits, pause and resume.

A status filter on the list: `draft`, `cancelled` and `paused` are stored; `scheduled`, `live` and `ended` are
read from the clock for a published campaign (Campaign.status_at), so the filter says the same in the Query's
filter expression. Pause and resume are conditional UpdateItems on the campaign item (data/campaigns.py).
"""

from __future__ import annotations

from typing import Any, cast

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import UpdateError

from storeloop.data import cursors
from storeloop.data.campaigns import (
    ALL_CAMPAIGNS,
    CANCELLED,
    DRAFT,
    PAUSED,
    PUBLISHED_STATUSES,
    Campaign,
    NotChanged,
    campaign_pk,
)
from storeloop.data.models import read_page, start_key

LIVE = "live"


class ManagedCampaign(Campaign):
    """The campaign item with HQ's own stamps."""

    paused_at = UnicodeAttribute(null=True)
    resumed_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


def _status_filter(status: str | None, now: str) -> Any:
    published = ManagedCampaign.status.is_in(*PUBLISHED_STATUSES)
    if status is None:
        return None
    if status in (DRAFT, CANCELLED):
        return ManagedCampaign.status == status
    if status == PAUSED:
        return (ManagedCampaign.status == PAUSED) & (ManagedCampaign.ends_at > now)
    if status == "scheduled":
        return published & (ManagedCampaign.starts_at > now)
    if status == LIVE:
        return published & (ManagedCampaign.starts_at <= now) & (ManagedCampaign.ends_at > now)
    # ended: published (or paused) and past its end
    return (published | (ManagedCampaign.status == PAUSED)) & (ManagedCampaign.ends_at <= now)


def list_campaigns(status: str | None, now: str, limit: int, cursor: str | None
                   ) -> tuple[list[ManagedCampaign], str | None]:
    """Newest first: Query GSI2 `CAMPAIGNS` descending, filtered by status, `limit + 1` matches; from the client's
    cursor (a key of this index, else 400), with the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI2PK", "GSI2SK"), GSI2PK=ALL_CAMPAIGNS, SK="CAMPAIGN")
    query = ManagedCampaign.gsi2.query(ALL_CAMPAIGNS, scan_index_forward=False, limit=limit + 1,
                                       filter_condition=_status_filter(status, now),
                                       last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI2")
    return cast(list[ManagedCampaign], items), cursors.next_cursor(last)


def _update(campaign_id: str, actions: list[Any], condition: Any) -> None:
    try:
        ManagedCampaign(campaign_pk(campaign_id), "CAMPAIGN").update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(campaign_id) from None
        raise


def edit_draft(campaign_id: str, changes: dict[str, Any], at: str) -> None:
    """Set the changed fields, only while the campaign is a draft (NotChanged otherwise)."""
    actions: list[Any] = [ManagedCampaign.updated_at.set(at)]
    for name, value in changes.items():
        attr = getattr(ManagedCampaign, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    _update(campaign_id, actions, ManagedCampaign.status == DRAFT)


def pause(campaign_id: str, at: str) -> None:
    """Published and within its window → paused (claims refused). NotChanged otherwise."""
    _update(campaign_id, [ManagedCampaign.status.set(PAUSED), ManagedCampaign.paused_at.set(at)],
            ManagedCampaign.status.is_in(*PUBLISHED_STATUSES) & (ManagedCampaign.starts_at <= at)
            & (ManagedCampaign.ends_at > at))


def resume(campaign_id: str, at: str) -> None:
    """paused → live, before its end (the flow's go-live has passed: pausing needs the window to have begun)."""
    _update(campaign_id, [ManagedCampaign.status.set(LIVE), ManagedCampaign.resumed_at.set(at)],
            (ManagedCampaign.status == PAUSED) & (ManagedCampaign.ends_at > at))
