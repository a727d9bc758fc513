"""Scheduled reminders: coupons about to expire and visits about to start, queued as subscription messages.

Both find their candidates through sparse index items the stream consumer writes (`index_items`), so no schedule
scans: a claimed coupon gets `EXPIRY#<valid_until date>#<shard>` / `<valid_until>#<coupon_id>`, a booked visit
`VISITREMIND#<slot date>T<hour>` / `<slot start>#<appointment_id>`. The index items hold ids and times only (the
member is read from the coupon or appointment, which an erasure de-personalises) and expire by TTL.

Each reminder has a stable message id, so running a schedule again (on demand, or a retried invocation) queues
the same ids and the sender sends each at most once. Whether a message goes out at all (grant, consent) is the
sender's decision (services.messages).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import analytics, appointments, campaigns, coupons, stores
from storeloop.data.records import images, record_keys, record_kind
from storeloop.data.reminders import coupon_expiry_item, coupons_by_id, visit_reminder_item
from storeloop.domain.clock import CN_TZ, parse_rfc3339, to_rfc3339
from storeloop.schemas.messages import OutboundMessage
from storeloop.services import messages

logger = Logger(service="storeloop", child=True)

EXPIRY_WINDOW = (timedelta(hours=24), timedelta(hours=48))  # remind coupons expiring 24-48 h after the run
VISIT_LEAD = timedelta(hours=1)  # the hourly run reminds the visits of the hour after the next full hour
INDEX_GRACE_SECONDS = 2 * 86_400  # index items outlive their moment by two days, then TTL removes them


def _epoch(value: str) -> int:
    return int(parse_rfc3339(value).timestamp())


def _local(value: str) -> datetime:
    return parse_rfc3339(value).astimezone(CN_TZ)


def _wechat_time(value: str) -> str:
    return _local(value).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------- the indexes


def index_items(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reminder index items a batch of stream records calls for (new coupons, new bookings)."""
    items: list[dict[str, Any]] = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        kind = record_kind(record)
        _, new = images(record)
        try:
            if kind == "coupon" and new.get("valid_until"):
                until = to_rfc3339(parse_rfc3339(new["valid_until"]))
                items.append(coupon_expiry_item(new["coupon_id"], until, _epoch(until) + INDEX_GRACE_SECONDS))
            elif kind == "appointment" and new.get("status") == appointments.BOOKED:
                start = to_rfc3339(parse_rfc3339(new["slot_start"]))
                items.append(visit_reminder_item(new["appointment_id"], start, _epoch(start) + INDEX_GRACE_SECONDS))
        except (KeyError, TypeError, ValueError):
            logger.exception("stream record not indexed", extra={"pk": record_keys(record)[0]})
    return items


# ---------------------------------------------------------------------------------------------- coupon expiry


def expiry_window(at: datetime) -> tuple[str, str]:
    """[first, before) of the valid_until times a run at `at` reminds, in key form."""
    return to_rfc3339(at + EXPIRY_WINDOW[0]), to_rfc3339(at + EXPIRY_WINDOW[1])


def send_coupon_expiry_reminders(at: datetime, fallback_template_id: str | None = None) -> dict[str, Any]:
    """Queue a reminder to the holder of each coupon still active whose valid_until is 24-48 h after `at`.

    The message uses the campaign's `reminder_template_id` (or `fallback_template_id`); coupons of campaigns with
    neither are skipped. One message per coupon, ever: the message id is the coupon's.
    """
    first, before = expiry_window(at)
    days = sorted({first[:10], before[:10]})
    candidates = [cid for day in days for cid in analytics.expiring_coupon_ids(day, first, before)]
    due = [c for c in coupons_by_id(candidates)
           if c.status == "active" and first <= to_rfc3339(parse_rfc3339(c.valid_until)) < before
           and c.member_id and c.member_id != "erased"]
    of_campaign = {cid: campaigns.cached_campaign(cid) for cid in {c.campaign_id for c in due}}
    batch: list[OutboundMessage] = []
    skipped = 0
    for coupon in due:
        campaign = of_campaign.get(coupon.campaign_id)
        template_id = (campaign.reminder_template_id if campaign is not None else None) or fallback_template_id
        if not template_id:
            skipped += 1
            continue
        template = coupons.cached_template(coupon.template_id)
        batch.append(messages.outbound_message(
            coupon.member_id, template_id,
            {"thing1": (template.name if template is not None else "优惠券")[:20],
             "time2": _wechat_time(coupon.valid_until), "thing3": "您的优惠券即将过期，请尽快使用"},
            f"pages/coupons/detail?coupon_id={coupon.coupon_id}", "coupon_expiry",
            message_id=f"coupon-expiry-{coupon.coupon_id}"))
    if batch:
        messages.enqueue_messages(batch)
    summary = {"window": [first, before], "candidates": len(candidates), "queued": len(batch),
               "skipped_no_template": skipped}
    logger.info("coupon expiry reminders", extra=summary)
    return summary


# ---------------------------------------------------------------------------------------------- visits


def visit_hour(at: datetime) -> str:
    """The slot hour (`YYYY-MM-DDTHH`, local) a run at `at` reminds: the hour after the next full hour starts, so
    an hourly run on the hour reminds visits starting 1-2 h later."""
    local = at.astimezone(CN_TZ).replace(minute=0, second=0, microsecond=0) + VISIT_LEAD
    return local.strftime("%Y-%m-%dT%H")


def send_visit_reminders(at: datetime, template_id: str | None) -> dict[str, Any]:
    """Queue a reminder to each member whose booked visit starts in the slot hour `visit_hour(at)`."""
    hour = visit_hour(at)
    if not template_id:
        logger.warning("visit reminders have no message template (the schedule's Input names it)")
        return {"hour": hour, "candidates": 0, "queued": 0}
    ids = analytics.appointments_in_hour(hour)
    due = [a for a in appointments.appointments_by_id(ids)
           if a.status == appointments.BOOKED and a.member_id != "erased" and a.slot_start[:13] == hour]
    shops = stores.get_stores([a.store_id for a in due]) if due else {}
    batch = [messages.outbound_message(
        a.member_id, template_id,
        {"thing1": (shops[a.store_id].name if a.store_id in shops else a.store_id)[:20],
         "time2": _wechat_time(a.slot_start), "thing3": "您预约的到店时间快到了"},
        f"pages/visits/detail?appointment_id={a.appointment_id}", "visit_reminder",
        message_id=f"visit-reminder-{a.appointment_id}") for a in due]
    if batch:
        messages.enqueue_messages(batch)
    summary = {"hour": hour, "candidates": len(ids), "queued": len(batch)}
    logger.info("visit reminders", extra=summary)
    return summary
