"""The campaign flow: start and stop its execution, and the tasks of statemachines/campaign.asl.json.

Publish starts one Step Functions execution per campaign (named after it, so a repeated publish starts nothing new);
cancel stops it. The flow waits until starts_at, then calls the tasks below in order. Each task is idempotent:
status changes are conditional writes, messages carry stable ids (the sender records each id once, so a retried
page spends no grant twice), released stock is recorded once per shard, and the report is recomputed the same.
A task that finds the campaign cancelled (a cancel racing the flow) answers so, and the flow ends quietly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import aws
from storeloop.data import campaign_flow, campaigns, coupons
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, parse_rfc3339, to_rfc3339
from storeloop.schemas.campaigns import CampaignReport, TemplateReport
from storeloop.services import messages
from storeloop.services.consents import MARKETING_MESSAGES
from storeloop.settings import get_settings

logger = Logger(service="storeloop")

PAGE_SIZE = 100  # members per task call: one BatchGetItem of consents, ten SQS batches
REMINDER_LEAD = timedelta(hours=24)
# moto's Wait states count whole seconds (and Step Functions may wake a task a little early or late): a task up to
# this early waits out the difference; earlier than that is a wrong Wait, and the task fails rather than act early.
EARLY_TOLERANCE = timedelta(seconds=2)


class TooEarly(Exception):
    """A task was called well before its time; it fails (and is retried) rather than start or end a campaign early."""


# ---------------------------------------------------------------- rules


def utc_z(dt: datetime) -> str:
    """What a Step Functions Wait state reads: UTC with a 'Z', whole seconds."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reminder_time(starts_at: datetime, ends_at: datetime) -> datetime:
    """A day before the end, or halfway through a campaign shorter than two days."""
    return max(ends_at - REMINDER_LEAD, starts_at + (ends_at - starts_at) / 2)


def _not_before(moment: datetime) -> None:
    early = moment - clock.now()
    if early > EARLY_TOLERANCE:
        raise TooEarly(f"{early.total_seconds():.0f} s before its time")
    if early > timedelta(0):
        time.sleep(early.total_seconds())


def _display_time(value: str) -> str:
    return parse_rfc3339(value).astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- start and stop (publish, cancel)

def flow_input(campaign: campaigns.Campaign) -> dict[str, str]:
    """The execution's input: the same for every publish of a campaign, so StartExecution is idempotent."""
    return {"campaign_id": campaign.campaign_id, "starts_at": utc_z(parse_rfc3339(campaign.starts_at)),
            "ends_at": utc_z(parse_rfc3339(campaign.ends_at))}


def start_flow(campaign: campaigns.Campaign) -> str:
    """StartExecution named after the campaign, and its ARN stored on the campaign; returns the ARN.

    A running execution with that name and input is answered again by Step Functions; ExecutionAlreadyExists
    (it has closed) means the flow already ran, which is success too.
    """
    settings = get_settings()
    if not settings.campaign_state_machine_arn:
        raise RuntimeError("CAMPAIGN_STATE_MACHINE_ARN is not set for this function (see template.yaml)")
    arn = aws.start_execution(settings.campaign_state_machine_arn, campaign.campaign_id, flow_input(campaign),
                              exists_ok=True)
    if arn is None:
        arn = settings.campaign_state_machine_arn.replace(":stateMachine:", ":execution:") + f":{campaign.campaign_id}"
    campaign_flow.record_execution(campaign.campaign_id, arn)
    logger.info("campaign flow started", extra={"campaign_id": campaign.campaign_id})
    return arn


def stop_flow(campaign: campaigns.Campaign) -> None:
    """StopExecution of the campaign's execution, if one was started; stopping twice is fine.

    Best effort: the cancel itself is the conditional status write before this. An execution that could not be
    stopped stops itself: each of its tasks finds the campaign cancelled, sends nothing and ends the flow.
    """
    state = campaign_flow.get_state(campaign.campaign_id)
    if state is None or not state.execution_arn:
        return  # a draft: no flow
    try:
        aws.stop_execution(state.execution_arn, "CampaignCancelled", "the campaign was cancelled")
    except Exception as exc:  # noqa: BLE001 - see above: never fail a cancel that has happened
        code = aws.error_code(exc)
        if code != "ExecutionDoesNotExist":
            logger.warning("campaign flow not stopped; its tasks will find the campaign cancelled",
                           extra={"campaign_id": campaign.campaign_id, "error": code})
        return
    logger.info("campaign flow stopped", extra={"campaign_id": campaign.campaign_id})


# ---------------------------------------------------------------- the tasks


def task_campaign_id(event: dict) -> str:
    """The campaign id of a task's input (Step Functions passes it to every task)."""
    campaign_id = event.get("campaign_id")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise ValueError("the task input needs a campaign_id")
    return campaign_id


def _campaign(campaign_id: str) -> campaigns.Campaign | None:
    return campaigns.get_campaign(campaign_id, consistent=True)


def go_live(campaign_id: str) -> dict[str, Any]:
    """scheduled → live; answers when to remind (UTC, or None: no message template, or the time has passed)."""
    campaign = _campaign(campaign_id)
    if campaign is None or campaign.status == campaigns.CANCELLED:
        return {"campaign_id": campaign_id, "status": "cancelled" if campaign else "gone", "reminder_at": None}
    _not_before(parse_rfc3339(campaign.starts_at))
    now = clock.now()
    if campaign.status == campaigns.SCHEDULED:
        try:
            campaign_flow.set_status(campaign_id, campaign_flow.LIVE, campaigns.SCHEDULED, to_rfc3339(now),
                            campaign_flow.CampaignFlowState.live_at)
        except campaign_flow.NotChanged:
            campaign = _campaign(campaign_id)
            if campaign is None or campaign.status == campaigns.CANCELLED:
                return {"campaign_id": campaign_id, "status": "cancelled", "reminder_at": None}
    if campaign.status not in (campaigns.SCHEDULED, campaign_flow.LIVE, campaign_flow.ENDED, campaigns.PAUSED):
        raise RuntimeError(f"campaign {campaign_id} is {campaign.status}, not published")
    remind = reminder_time(parse_rfc3339(campaign.starts_at), parse_rfc3339(campaign.ends_at))
    reminder_at = utc_z(remind) if campaign.reminder_template_id and remind > now else None
    logger.info("campaign live", extra={"campaign_id": campaign_id, "reminder_at": reminder_at})
    return {"campaign_id": campaign_id, "status": campaign_flow.LIVE, "reminder_at": reminder_at}


def _running(campaign_id: str) -> campaigns.Campaign | None:
    """The campaign if it is live and has a message template; None: nothing to send."""
    campaign = _campaign(campaign_id)
    if campaign is None or campaign.status != campaign_flow.LIVE or not campaign.reminder_template_id:
        return None
    return campaign


def _queue(campaign: campaigns.Campaign, member_ids: list[str], kind: str, note: str) -> int:
    template_id = str(campaign.reminder_template_id)
    fields = {"thing1": campaign.name[:20], "time2": _display_time(campaign.ends_at), "thing3": note}
    page = f"pages/campaign/index?id={campaign.campaign_id}"
    batch = [messages.outbound_message(m, template_id, fields, page, f"campaign_{kind}",
                                       message_id=f"{campaign.campaign_id}:{m}:{kind}") for m in member_ids]
    if batch:
        messages.enqueue_messages(batch)
    return len(batch)


def _in_audience(campaign: campaigns.Campaign, members: list[str]) -> list[str]:
    """Issue 9: a campaign with an audience messages its segment only (one BatchGetItem of the page's profiles)."""
    if not campaign.audience_segment_id or not members:
        return members
    from storeloop.services import segments

    keep = segments.audience_of(members, campaign.audience_segment_id)
    return [m for m in members if m in keep]


def notify_page(campaign_id: str, cursor: str | None, queued: int) -> dict[str, Any]:
    """Queue the launch message for one page of the audience: an unused grant of the campaign's message template
    and the marketing consent. Returns the next page's cursor (None: done) and the count so far."""
    campaign = _running(campaign_id)
    if campaign is None:
        return {"campaign_id": campaign_id, "cursor": None, "queued": queued}
    members, after = campaign_flow.grant_holders_page(str(campaign.reminder_template_id), cursor, PAGE_SIZE)
    members = _in_audience(campaign, members)  # issue 9
    reachable = campaign_flow.consenting(members, MARKETING_MESSAGES)
    sent = _queue(campaign, [m for m in members if m in reachable], "launch", "活动已开始，领券到店")
    logger.info("campaign audience page queued", extra={"campaign_id": campaign_id, "queued": sent})
    return {"campaign_id": campaign_id, "cursor": after, "queued": queued + sent}


def remind_page(campaign_id: str, cursor: str | None, queued: int) -> dict[str, Any]:
    """Queue the reminder for one page of subscribers who hold an unredeemed coupon of this campaign.

    Only members holding an unused grant can be messaged at all, so the page walks the grant holders (an index
    that exists) and keeps those who claimed one of the campaign's templates (BatchGetItem of holdings), consent,
    and still hold an active coupon of this campaign (a Query of their own coupons) — no index of coupons by
    campaign on the claim path.
    """
    campaign = _running(campaign_id)
    if campaign is None:
        return {"campaign_id": campaign_id, "cursor": None, "queued": queued}
    members, after = campaign_flow.grant_holders_page(str(campaign.reminder_template_id), cursor, PAGE_SIZE)
    members = _in_audience(campaign, members)  # issue 9
    claimed = campaign_flow.claimed_any(members, campaign.template_id_list())
    reachable = campaign_flow.consenting(claimed, MARKETING_MESSAGES)
    now = to_rfc3339(clock.now())
    holders = [m for m in members if m in reachable and campaign_flow.has_unredeemed_coupon(m, campaign_id, now)]
    sent = _queue(campaign, holders, "reminder", "您的优惠券尚未使用")
    logger.info("campaign reminder page queued", extra={"campaign_id": campaign_id, "queued": sent})
    return {"campaign_id": campaign_id, "cursor": after, "queued": queued + sent}


def end(campaign_id: str) -> dict[str, Any]:
    """live → ended (claims already stop at ends_at by the clock)."""
    campaign = _campaign(campaign_id)
    if campaign is None or campaign.status == campaigns.CANCELLED:
        return {"campaign_id": campaign_id, "status": "cancelled" if campaign else "gone"}
    _not_before(parse_rfc3339(campaign.ends_at))
    if campaign.status in (campaign_flow.LIVE, campaigns.PAUSED):  # a campaign paused at its end ends too
        try:
            campaign_flow.set_status(campaign_id, campaign_flow.ENDED, campaign.status, to_rfc3339(clock.now()),
                            campaign_flow.CampaignFlowState.ended_at)
        except campaign_flow.NotChanged:
            campaign = _campaign(campaign_id)
            if campaign is None or campaign.status == campaigns.CANCELLED:
                return {"campaign_id": campaign_id, "status": "cancelled"}
    if campaign.status not in (campaign_flow.LIVE, campaign_flow.ENDED, campaigns.PAUSED):
        raise RuntimeError(f"campaign {campaign_id} is {campaign.status}, not live")
    logger.info("campaign ended", extra={"campaign_id": campaign_id})
    return {"campaign_id": campaign_id, "status": campaign_flow.ENDED}


def release(campaign_id: str) -> dict[str, Any]:
    """Take the unclaimed units of an ended campaign's templates off their shards, recorded as released.

    A template that another published campaign, not yet ended, still offers keeps its stock for that campaign
    (listed in `kept`).
    """
    campaign = _campaign(campaign_id)
    if campaign is None:
        return {"campaign_id": campaign_id, "released": {}, "kept": []}
    if campaign.status != campaign_flow.ENDED:
        raise RuntimeError(f"campaign {campaign_id} has not ended")
    at = to_rfc3339(clock.now())
    templates = coupons.get_templates(campaign.template_id_list())
    offered = campaign_flow.campaigns_offering(templates, at, campaign_id)
    released: dict[str, int] = {}
    for template_id in campaign.template_id_list():
        template = templates.get(template_id)
        if template is None or template_id in offered:
            continue
        released[template_id] = sum(campaign_flow.release_shard(campaign_id, template_id, i, at)
                                    for i in range(int(template.shards)))
    kept = sorted(offered)
    logger.info("campaign stock released", extra={"campaign_id": campaign_id, "released": sum(released.values()),
                                                  "kept": kept})
    return {"campaign_id": campaign_id, "released": released, "kept": kept}


def write_report(campaign_id: str, notified: int, reminded: int) -> CampaignReport | None:
    """Claimed, redeemed, released and remaining per template, stored on the campaign.

    claimed = total_stock - remaining - released: exact for a template offered by this campaign alone; a template
    shared with other campaigns counts their claims too. redeemed comes from the campaign's verifications (coupon
    redeemed at a store, by a POS sale or with a paid order), reversed ones left out.
    """
    campaign = _campaign(campaign_id)
    if campaign is None:
        return None
    if campaign.status != campaign_flow.ENDED:
        raise RuntimeError(f"campaign {campaign_id} has not ended")
    templates = coupons.get_templates(campaign.template_id_list())
    ordered = [templates[t] for t in campaign.template_id_list() if t in templates]
    remaining = campaign_flow.remaining_units(ordered)
    released = campaign_flow.released_units(campaign_id)
    redeemed = campaign_flow.redeemed_by_template(campaign_id)
    rows = []
    for t in ordered:
        left, gone = remaining.get(t.template_id, 0), released.get(t.template_id, 0)
        rows.append(TemplateReport(template_id=t.template_id, name=t.name, total_stock=int(t.total_stock),
                                   claimed=int(t.total_stock) - left - gone, redeemed=redeemed.get(t.template_id, 0),
                                   released=gone, remaining=left))
    at = to_rfc3339(clock.now())
    report = CampaignReport(campaign_id=campaign_id, generated_at=at, notified=notified, reminded=reminded,
                            claimed=sum(r.claimed for r in rows), redeemed=sum(r.redeemed for r in rows),
                            released=sum(r.released for r in rows), templates=rows)
    campaign_flow.save_report(campaign_id, report.model_dump(), at)
    logger.info("campaign report written", extra={"campaign_id": campaign_id, "claimed": report.claimed,
                                                  "redeemed": report.redeemed})
    return report


def report_of(campaign_id: str) -> CampaignReport | None:
    """The final report once written (for an admin's view of the campaign), else None."""
    state = campaign_flow.get_state(campaign_id)
    if state is None or state.report is None:
        return None
    return CampaignReport.model_validate(state.report.as_dict())
