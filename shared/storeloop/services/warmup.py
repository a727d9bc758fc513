"""Warm the claim path before a campaign's peak: provisioned concurrency on the hot functions' aliases.

A campaign (or flash sale) may declare `expected_peak_rps`. Publishing it starts the warm flow
(`statemachines/campaign_warm.asl.json`, one execution per campaign): it waits until `warm_lead_seconds`
before `starts_at`, runs `warm` (reserve what this campaign needs, then set each target's provisioned
concurrency to the sum of every reservation present), waits until the rush is over (`warm_rush_seconds` after
the start, or the end if sooner) and runs `release` (drop the reservation, set each target to what the others
still need, or remove the configuration at 0). Both are idempotent: the reservation is one item per campaign and
the applied numbers are recomputed from all of them, so a retry, a rerun or two campaigns overlapping never
leave a target below what a live campaign needs.

Targets come from `WARM_TARGETS` (template.yaml): function name, alias, the warm time per request (ms, from
`make bench`) and the share of the peak that reaches it (the authorizer's cache answers most requests).
Sizing is `domain.capacity.provisioned_concurrency`. A cancelled campaign is not warmed (its release still runs).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import aws
from storeloop.data import campaigns, warmup
from storeloop.domain.capacity import provisioned_concurrency
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.settings import get_settings

logger = Logger(service="storeloop")


def targets() -> dict[str, dict[str, Any]]:
    raw = get_settings().warm_targets
    return json.loads(raw) if raw else {}


def needs_for(peak_rps: int) -> dict[str, int]:
    """Target → environments this peak needs (Little's law on the target's warm time and share)."""
    return {name: max(1, provisioned_concurrency(peak_rps * float(t.get("share", 1.0)), float(t["warm_ms"])))
            for name, t in targets().items()}


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


def apply(totals: dict[str, int]) -> dict[str, int]:
    """Set every target's provisioned concurrency to its total (0: remove the configuration). Returns what was set."""
    applied: dict[str, int] = {}
    for name, t in targets().items():
        want = int(totals.get(name, 0))
        aws.set_provisioned_concurrency(t["function"], t.get("alias", "live"), want)
        applied[name] = want
    return applied


def warm(campaign_id: str) -> dict[str, Any]:
    """The warm flow's first task: reserve this campaign's needs and provision the sum of all reservations."""
    campaign = campaigns.get_campaign(campaign_id, consistent=True)
    peak = int(getattr(campaign, "expected_peak_rps", None) or 0) if campaign is not None else 0
    if campaign is None or campaign.status == campaigns.CANCELLED or peak <= 0:
        return {"campaign_id": campaign_id, "warmed": False, "applied": {}}
    _, release_at = warm_window(campaign.starts_at, campaign.ends_at)
    warmup.reserve(campaign_id, needs_for(peak), peak, release_at)
    applied = apply(warmup.totals())
    logger.info("claim path warmed", extra={"campaign_id": campaign_id, "peak_rps": peak, "applied": applied})
    return {"campaign_id": campaign_id, "warmed": True, "applied": applied}


def release(campaign_id: str) -> dict[str, Any]:
    """The warm flow's last task: drop the reservation and provision what the other campaigns still need."""
    dropped = warmup.release(campaign_id)
    applied = apply(warmup.totals())
    logger.info("claim path released", extra={"campaign_id": campaign_id, "dropped": dropped, "applied": applied})
    return {"campaign_id": campaign_id, "released": dropped, "applied": applied}


def start_warm_flow(campaign: campaigns.Campaign) -> str | None:
    """StartExecution of the warm flow, named after the campaign (a repeated publish starts nothing new)."""
    settings = get_settings()
    if not int(getattr(campaign, "expected_peak_rps", None) or 0) or not settings.campaign_warm_state_machine_arn:
        return None
    warm_at, release_at = warm_window(campaign.starts_at, campaign.ends_at)
    return aws.start_execution(settings.campaign_warm_state_machine_arn, campaign.campaign_id,
                               {"campaign_id": campaign.campaign_id, "warm_at": warm_at, "release_at": release_at},
                               exists_ok=True)


__all__ = ["apply", "needs_for", "release", "start_warm_flow", "to_rfc3339", "warm", "warm_window"]
