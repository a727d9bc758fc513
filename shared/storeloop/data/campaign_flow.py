"""The campaign flow's data: status changes by conditional write, its execution, audience pages, released stock, report.

The flow's own fields live on the campaign item (`CAMPAIGN#<id>` / `CAMPAIGN`), written through `CampaignFlowState`,
a view of that item holding only them; `data/campaigns.py` owns the rest of the item. Released stock is one item per
stock shard under the campaign (`RELEASE#<template_id>#<nn>`), written in the same transaction that takes the units
off the shard, so a retried release takes nothing twice. docs/data-model.md, "Campaign flow", lists every key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import campaigns
from storeloop.data.consents import CURRENT_SK, Consent
from storeloop.data.coupons import (
    Coupon,
    MemberHolding,
    StockShard,
    member_coupons_partition,
    shard_pk,
)
from storeloop.data.members import member_pk
from storeloop.data.messages import HOLDER_SHARDS, MessageGrant, holders_pk
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.data.verification import Verification

CAMPAIGN_SK = "CAMPAIGN"
RELEASE_PREFIX = "RELEASE#"
LIVE, ENDED = "live", "ended"
CONDITION_FAILED = "ConditionalCheckFailed"
RELEASE_ATTEMPTS = 5  # a claim that read the campaign just before its end may still take a unit meanwhile


class NotChanged(Exception):
    """A conditional status change did not apply; the caller re-reads the campaign to say why."""


class CampaignFlowState(Entity):
    """The campaign item as the flow writes it: its status, and the flow's own fields (nothing else)."""

    status = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    live_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    report = MapAttribute(null=True)  # type: ignore[var-annotated]  # the final report, as CampaignReport dumps it
    reported_at = UnicodeAttribute(null=True)


class StockRelease(Entity):
    """PK CAMPAIGN#<campaign_id>, SK RELEASE#<template_id>#<nn>: units taken off one shard when the campaign ended."""

    campaign_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    shard = NumberAttribute()
    released = NumberAttribute()
    released_at = UnicodeAttribute()


def _item(campaign_id: str) -> CampaignFlowState:
    return CampaignFlowState(campaigns.campaign_pk(campaign_id), CAMPAIGN_SK)


# ---------------------------------------------------------------- status and execution


def set_status(campaign_id: str, to: str, from_status: str, at: str, stamp: UnicodeAttribute) -> None:
    """`from_status` → `to`, stamping `at` in `stamp`; NotChanged if the campaign is not in `from_status`."""
    try:
        _item(campaign_id).update(actions=[CampaignFlowState.status.set(to), stamp.set(at)],
                                  condition=CampaignFlowState.status == from_status)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(campaign_id) from None
        raise


def record_execution(campaign_id: str, execution_arn: str) -> None:
    _item(campaign_id).update(actions=[CampaignFlowState.execution_arn.set(execution_arn)],
                              condition=CampaignFlowState.PK.exists())


def get_state(campaign_id: str) -> CampaignFlowState | None:
    try:
        return CampaignFlowState.get(campaigns.campaign_pk(campaign_id), CAMPAIGN_SK, consistent_read=True)
    except DoesNotExist:
        return None


def save_report(campaign_id: str, report: dict[str, Any], at: str) -> None:
    """The final report on the campaign; a retried task writes the same numbers again (only once ended)."""
    _item(campaign_id).update(actions=[CampaignFlowState.report.set(report), CampaignFlowState.reported_at.set(at)],
                              condition=CampaignFlowState.status == ENDED)


# ---------------------------------------------------------------- audience pages


def encode_cursor(shard: int, key: dict[str, Any] | None) -> str | None:
    """Where the next page starts: a holder-index shard and the key to resume it after (None: all done)."""
    if shard >= HOLDER_SHARDS:
        return None
    return json.dumps({"shard": shard, "key": key}, separators=(",", ":"))


def decode_cursor(cursor: str | None) -> tuple[int, dict[str, Any] | None]:
    if not cursor:
        return 0, None
    raw = json.loads(cursor)  # written by encode_cursor and carried by the flow, never by a client
    return int(raw["shard"]), raw.get("key")


def grant_holders_page(template_id: str, cursor: str | None, page: int) -> tuple[list[str], str | None]:
    """Up to `page` members holding an unused grant of this template, and the cursor after them (None: no more).

    Query GSI1 `GRANTS#<template>#<shard>` (filter `available > 0`), shard after shard; eventually consistent,
    which is fine here: the sender checks the grant again when it sends.
    """
    shard, key = decode_cursor(cursor)
    found: list[str] = []
    while shard < HOLDER_SHARDS and len(found) < page:
        want = page - len(found)
        query = MessageGrant.gsi1.query(holders_pk(template_id, shard), filter_condition=MessageGrant.available > 0,
                                        limit=want, page_size=want, last_evaluated_key=key)
        found.extend(str(cast(MessageGrant, g).member_id) for g in query)
        key = query.last_evaluated_key
        if key is None:
            shard += 1
    return found, encode_cursor(shard, key)


def consenting(member_ids: Iterable[str], scope: str) -> set[str]:
    """Of `member_ids`, those whose consent in force holds `scope` (BatchGetItem of `CONSENT#CURRENT`)."""
    keys = [(member_pk(m), CURRENT_SK) for m in set(member_ids)]
    return {c.member_id for c in Consent.batch_get(keys) if scope in (c.scopes or [])} if keys else set()


def claimed_any(member_ids: Iterable[str], template_ids: list[str]) -> set[str]:
    """Of `member_ids`, those who ever claimed one of `template_ids` (BatchGetItem of their holdings)."""
    keys = [(member_pk(m), f"HOLDING#{t}") for m in set(member_ids) for t in template_ids]
    return {h.member_id for h in MemberHolding.batch_get(keys) if int(h.claimed or 0) > 0} if keys else set()


def has_unredeemed_coupon(member_id: str, campaign_id: str, now: str) -> bool:
    """Does the member hold an active, unexpired coupon of this campaign? (Query GSI1 `MEMBER#<id>#COUPONS`.)"""
    query = Coupon.gsi1.query(member_coupons_partition(member_id),
                              filter_condition=(Coupon.campaign_id == campaign_id) & (Coupon.status == "active")
                              & (Coupon.valid_until > now))
    return next(iter(query), None) is not None


# ---------------------------------------------------------------- releasing unclaimed stock


def campaigns_offering(template_ids: Iterable[str], now: str, except_id: str) -> dict[str, list[str]]:
    """template id → other published campaigns not yet ended that offer it (Query GSI1 `CAMPAIGNS#PUBLISHED`)."""
    wanted = set(template_ids)
    offering: dict[str, list[str]] = {}
    for found in campaigns.Campaign.gsi1.query(campaigns.PUBLISHED_PARTITION, Entity.GSI1SK > now):
        campaign = cast(campaigns.Campaign, found)  # this partition holds only campaigns
        if campaign.campaign_id == except_id:
            continue
        for t in wanted.intersection(campaign.template_id_list()):
            offering.setdefault(t, []).append(campaign.campaign_id)
    return offering


def _release_pk(campaign_id: str) -> str:
    return campaigns.campaign_pk(campaign_id)


def release_shard(campaign_id: str, template_id: str, shard: int, at: str) -> int:
    """Take every unit left on one shard off it, recorded as released by this campaign; once. Returns the units.

    TransactWrite: Put `RELEASE#<template>#<nn>` if it does not exist, and (when units are left) Update the shard
    `ADD remaining -n` if `remaining = n`. The record existing means a retry: its units are answered again.
    """
    sk = f"{RELEASE_PREFIX}{template_id}#{shard:02d}"
    for _ in range(RELEASE_ATTEMPTS):
        try:
            units = int(StockShard.get(shard_pk(template_id, shard), "STOCK", consistent_read=True).remaining)
        except DoesNotExist:
            units = 0
        units = max(units, 0)
        record = StockRelease(_release_pk(campaign_id), sk, campaign_id=campaign_id, template_id=template_id,
                              shard=shard, released=units, released_at=at)
        try:
            # pynamodb sends puts before updates: reasons are [record, shard].
            with TransactWrite(connection=connection()) as tx:
                tx.save(record, condition=StockRelease.PK.does_not_exist())
                if units:
                    tx.update(StockShard(shard_pk(template_id, shard), "STOCK"),
                              actions=[StockShard.remaining.add(-units), StockShard.released.add(units)],
                              condition=StockShard.remaining == units)
            return units
        except TransactWriteError as exc:
            codes = cancellation_codes(exc) + [None, None]
            if codes[0] == CONDITION_FAILED:
                done = StockRelease.get(_release_pk(campaign_id), sk, consistent_read=True)
                return int(done.released)
            if codes[1] != CONDITION_FAILED and "TransactionConflict" not in codes:
                raise
            # A late claim changed the shard between the read and the write: read it again.
    raise RuntimeError(f"the stock of {template_id} shard {shard} kept changing")


def released_units(campaign_id: str) -> dict[str, int]:
    """template id → units this campaign released (Query `CAMPAIGN#<id>`, `begins_with(SK, "RELEASE#")`)."""
    totals: dict[str, int] = {}
    for r in StockRelease.query(_release_pk(campaign_id), StockRelease.SK.startswith(RELEASE_PREFIX),
                                consistent_read=True):
        totals[r.template_id] = totals.get(r.template_id, 0) + int(r.released)
    return totals


def remaining_units(templates: Iterable[Any]) -> dict[str, int]:
    """template id → units left on its shards (BatchGetItem, strongly consistent: read right after a release)."""
    keys = [(shard_pk(t.template_id, i), "STOCK") for t in templates for i in range(int(t.shards))]
    totals: dict[str, int] = {}
    for s in StockShard.batch_get(keys, consistent_read=True) if keys else []:
        totals[s.template_id] = totals.get(s.template_id, 0) + int(s.remaining)
    return totals


def redeemed_by_template(campaign_id: str) -> dict[str, int]:
    """template id → coupons of this campaign redeemed and not reversed (Query GSI2 `CAMPAIGN#<id>#VERIFICATIONS`)."""
    totals: dict[str, int] = {}
    for found in Verification.gsi2.query(f"CAMPAIGN#{campaign_id}#VERIFICATIONS"):
        v = cast(Verification, found)  # this partition holds only verifications
        if v.reversed_at is None:
            totals[v.template_id] = totals.get(v.template_id, 0) + 1
    return totals
