"""Warm the claim path before a campaign's peak: provisioned concurrency on the hot functions' aliases.

A campaign or a flash sale may declare `expected_peak_rps`. Publishing the campaign (creating the sale) starts the
warm flow (`statemachines/campaign_warm.asl.json`, one execution per campaign or sale): it waits until
`warm_lead_seconds` before `starts_at`, runs `warm` (reserve what this campaign needs, then set each target's
provisioned concurrency to the sum of every reservation present), waits until the rush is over (`warm_rush_seconds`
after the start, or the end if sooner) and runs `release` (drop the reservation, set each target to what the others
still need, or remove the configuration at 0). Both are idempotent: the reservation is one item per campaign and the
applied numbers are recomputed from all of them, so a retry, a rerun or two campaigns overlapping never leave a
target below what a live campaign needs.

Targets come from `WARM_TARGETS` (template.yaml): function name, alias, the warm time per request (ms, from `make
bench`), the share of the peak that reaches it (the authorizer's cache answers most requests) and the `kinds` it
serves: the claim function for campaigns, the flash-sale order function for sales, the authorizer for both. Sizing
is `domain.capacity.provisioned_concurrency`. A cancelled campaign is not warmed (its release still runs).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import aws
from storeloop.data import campaigns, flash_sales, warmup
from storeloop.domain.capacity import provisioned_concurrency
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.settings import get_settings

logger = Logger(service="storeloop")


def targets() -> dict[str, dict[str, Any]]:
    raw = get_settings().warm_targets
    return json.loads(raw) if raw else {}


CAMPAIGN, FLASH_SALE = "campaign", "flash_sale"


def needs_for(peak_rps: int, kind: str = CAMPAIGN) -> dict[str, int]:
    """Target → environments this peak needs (Little's law on the target's warm time and share), for the targets
    that serve this kind."""
    return {name: max(1, provisioned_concurrency(peak_rps * float(t.get("share", 1.0)), float(t["warm_ms"])))
            for name, t in targets().items() if kind in t.get("kinds", [CAMPAIGN])}


def _window_and_peak(subject_id: str, kind: str) -> tuple[str, str, int] | None:
    """(starts_at, ends_at, peak) of a campaign or sale to warm now; None if gone, cancelled or without a peak."""
    if kind == FLASH_SALE:
        sale = flash_sales.get_sale(subject_id)
        if sale is None:
            return None
        return sale.starts_at, sale.ends_at, int(sale.expected_peak_rps or 0)
    campaign = campaigns.get_campaign(subject_id, consistent=True)
    if campaign is None or campaign.status == campaigns.CANCELLED:
        return None
    return campaign.starts_at, campaign.ends_at, int(getattr(campaign, "expected_peak_rps", None) or 0)


def warm_window(starts_at: str, ends_at: str) -> tuple[str, str]:
    """(when to provision, when to release), UTC 'Z' as a Wait state reads them."""
    s = get_settings()
    start, end = parse_rfc3339(starts_at), parse_rfc3339(ends_at)
    warm_at = start - timedelta(seconds=s.warm_lead_seconds)
    release_at = min(end, start + timedelta(seconds=s.warm_rush_seconds))
    return _z(warm_at), _z(release_at)


def _z(moment: Any) -> str:
    from storeloop.services.campaign_flow import utc_z

    return utc_z(moment)


def kind_targets(kind: str) -> set[str]:
    return {name for name, t in targets().items() if kind in t.get("kinds", [CAMPAIGN])}


def apply(totals: dict[str, int], names: set[str] | None = None) -> dict[str, int]:
    """Set the targets' (all, or `names`) provisioned concurrency to their totals (0: remove the configuration).
    Returns what was set."""
    applied: dict[str, int] = {}
    for name, t in targets().items():
        if names is not None and name not in names:
            continue
        want = int(totals.get(name, 0))
        aws.set_provisioned_concurrency(t["function"], t.get("alias", "live"), want)
        applied[name] = want
    return applied


def _id_key(kind: str) -> str:
    return "flash_sale_id" if kind == FLASH_SALE else "campaign_id"


def warm(subject_id: str, kind: str = CAMPAIGN) -> dict[str, Any]:
    """The warm flow's first task: reserve this campaign's (sale's) needs and provision the sum of all
    reservations."""
    found = _window_and_peak(subject_id, kind)
    if found is None or found[2] <= 0:
        return {_id_key(kind): subject_id, "warmed": False, "applied": {}}
    starts_at, ends_at, peak = found
    _, release_at = warm_window(starts_at, ends_at)
    warmup.reserve(subject_id, needs_for(peak, kind), peak, release_at, kind)
    applied = apply(warmup.totals(), kind_targets(kind))
    logger.info("claim path warmed", extra={_id_key(kind): subject_id, "peak_rps": peak, "applied": applied})
    return {_id_key(kind): subject_id, "warmed": True, "applied": applied}


def release(subject_id: str, kind: str = CAMPAIGN) -> dict[str, Any]:
    """The warm flow's last task: drop the reservation and provision what the others still need."""
    dropped = warmup.release(subject_id, kind)
    applied = apply(warmup.totals(), kind_targets(kind))
    logger.info("claim path released", extra={_id_key(kind): subject_id, "dropped": dropped, "applied": applied})
    return {_id_key(kind): subject_id, "released": dropped, "applied": applied}


def start_warm_flow(subject: campaigns.Campaign | flash_sales.FlashSale) -> str | None:
    """StartExecution of the warm flow, named after the campaign or sale (a repeated publish starts nothing new)."""
    settings = get_settings()
    if not int(getattr(subject, "expected_peak_rps", None) or 0) or not settings.campaign_warm_state_machine_arn:
        return None
    kind = FLASH_SALE if isinstance(subject, flash_sales.FlashSale) else CAMPAIGN
    subject_id = subject.flash_sale_id if isinstance(subject, flash_sales.FlashSale) else subject.campaign_id
    warm_at, release_at = warm_window(subject.starts_at, subject.ends_at)
    return aws.start_execution(settings.campaign_warm_state_machine_arn, subject_id,
                               {_id_key(kind): subject_id, "warm_at": warm_at, "release_at": release_at},
                               exists_ok=True)


__all__ = ["CAMPAIGN", "FLASH_SALE", "apply", "needs_for", "release", "start_warm_flow", "to_rfc3339", "warm",
           "warm_window"]
