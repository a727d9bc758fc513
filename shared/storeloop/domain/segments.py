"""Segments (issue 9): who a campaign is for, as rules over one member's own profile, and the checks at creation.

Every rule reads only facts kept on the member's profile (tier from lifetime spend, last purchase, joining store,
stores bought at, first-touch channel, membership), so "is this shopper in the segment" is one GetItem, never a
query over other members. docs/segments.md says how sizes are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storeloop.domain.clock import parse_rfc3339
from storeloop.domain.points import DEFAULT_TIER_THRESHOLDS, tier_for

TIERS = tuple(DEFAULT_TIER_THRESHOLDS)


@dataclass(frozen=True)
class MemberFacts:
    """What the rules read about one shopper (from the profile)."""

    joined_at: str | None = None
    lifetime_spend_fen: int = 0
    last_purchase_at: str | None = None
    joined_store_id: str | None = None
    stores_bought: frozenset[str] = frozenset()
    first_channel: str | None = None


def unsatisfiable(rules: Mapping[str, Any]) -> list[dict[str, str]]:
    """Why these rules can never match anyone (each a validation detail); [] when they can."""
    problems = []
    if rules.get("members_only") and rules.get("new_shoppers_only"):
        problems.append({"field": "rules.new_shoppers_only", "issue": "contradiction",
                         "message": "a new shopper (no purchase, not a member) is never a member"})
    if rules.get("new_shoppers_only") and (rules.get("purchased_within_days") or rules.get("min_lifetime_spend_fen")):
        problems.append({"field": "rules.new_shoppers_only", "issue": "contradiction",
                         "message": "a new shopper has no purchase and no spend"})
    within, since = rules.get("purchased_within_days"), rules.get("not_purchased_for_days")
    if within and since and since >= within:
        problems.append({"field": "rules.not_purchased_for_days", "issue": "contradiction",
                         "message": "must be less than purchased_within_days to match anyone"})
    return problems


def matches(rules: Mapping[str, Any], facts: MemberFacts, now: datetime) -> bool:
    """Whether a shopper with these facts is in the segment now: every given rule must hold (AND)."""
    member = facts.joined_at is not None
    if rules.get("members_only") and not member:
        return False
    if rules.get("new_shoppers_only") and (member or facts.last_purchase_at or facts.lifetime_spend_fen):
        return False
    tiers = rules.get("tiers")
    if tiers and (not member or tier_for(facts.lifetime_spend_fen) not in tiers):
        return False
    minimum = rules.get("min_lifetime_spend_fen")
    if minimum is not None and facts.lifetime_spend_fen < minimum:
        return False
    last = parse_rfc3339(facts.last_purchase_at) if facts.last_purchase_at else None
    within = rules.get("purchased_within_days")
    if within is not None and (last is None or now - last > timedelta(days=within)):
        return False
    since = rules.get("not_purchased_for_days")
    if since is not None and last is not None and now - last < timedelta(days=since):
        return False
    stores = rules.get("store_ids")
    if stores and facts.joined_store_id not in stores and not facts.stores_bought.intersection(stores):
        return False
    channels = rules.get("channels")
    return not (channels and (facts.first_channel or "direct") not in channels)
