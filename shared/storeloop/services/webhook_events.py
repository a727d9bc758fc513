"""Outbound webhooks, producing: business events read off MainTable's stream, each stored once with its one body
and fanned out as one SQS FIFO message per subscribed endpoint (docs/webhooks.md).

An event's id comes from the business fact it reports (the order paid, the sale recorded) or, for member.updated,
from the stream record's sequence number, so a stream redelivery produces the same id; its body is stored with a
conditional put the first time, and every later production of that id sends the stored body. The data is what the
brand's systems need and no more: the member id, never an openid, a phone or a name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.data import consents, members, webhooks
from storeloop.data.connection import aws_client
from storeloop.data.records import images, record_kind, record_label
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.points import tier_for
from storeloop.domain.webhooks import event_id
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

# The items whose changes are events here (the template's FilterCriteria on WebhookEventsFunction say the same).
RELEVANT = ("member_profile", "consent", "order", "coupon", "pos_sale", "pos_return")
SQS_BATCH = 10


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created_at: str
    data: dict[str, Any]
    subject: str  # what the event is about; events of one subject reach an endpoint in order (FIFO group)

    def body(self) -> str:
        return json.dumps({"id": self.id, "type": self.type, "created_at": self.created_at, "data": self.data},
                          ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _record_time(record: dict[str, Any]) -> str:
    raw = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime") or 0
    return to_rfc3339(datetime.fromtimestamp(float(raw), UTC))


def _member(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "erased" else None


def _int(value: Any) -> int:
    return int(value or 0)


def recognise(record: dict[str, Any], settings: Settings) -> list[Event]:
    """The outbound events one stream record stands for (none or one)."""
    kind = record_kind(record)
    if kind not in RELEVANT:
        return []
    old, new = images(record)
    try:
        if kind == "member_profile":
            return _profile(record, old, new, settings)
        if kind == "consent":
            return _consent(record, old, new, settings)
        if kind == "order":
            return _order(old, new)
        if kind == "coupon":
            return _coupon(old, new)
        if kind == "pos_sale":
            return _pos_sale(old, new)
        return _pos_return(old, new)
    except (KeyError, TypeError, ValueError):
        # A record we cannot read is not worth blocking the shard for; the log names it (no personal data).
        prefix, sk = record_label(record)
        logger.exception("stream record not understood", extra={"pk": prefix, "sk": sk})
        return []


def _scopes(member_id: str) -> list[str]:
    found = consents.current_consent(member_id, consistent=True)
    return sorted(found.scopes) if found else []


def member_data_of(profile: dict[str, Any], settings: Settings, scopes: list[str]) -> dict[str, Any]:
    """What a CRM needs of a member: id, tier, points, where and through what they joined, consent scopes."""
    source = dict(profile["source"]) if isinstance(profile.get("source"), dict) else {}
    if profile.get("joined_campaign_id"):
        source.setdefault("campaign_id", profile["joined_campaign_id"])
    return {"member_id": profile["member_id"], "tier": tier_for(_int(profile.get("lifetime_spend_fen")),
                                                                settings.tier_thresholds),
            "points": _int(profile.get("points")), "joined_at": profile.get("joined_at"),
            "joined_store_id": profile.get("joined_store_id"), "source": source or None,
            "consent_scopes": scopes}


def _followed(profile: dict[str, Any], settings: Settings) -> tuple[Any, ...]:
    """The fields a member.updated reports a change of (besides consents, on their own item)."""
    return (tier_for(_int(profile.get("lifetime_spend_fen")), settings.tier_thresholds), _int(profile.get("points")),
            profile.get("joined_store_id"), profile.get("joined_campaign_id"))


def _profile(record: dict[str, Any], old: dict[str, Any], new: dict[str, Any], settings: Settings) -> list[Event]:
    event = record.get("eventName")
    if event == "REMOVE":
        if not old.get("joined_at"):
            return []  # never a member: the brand's systems never heard of them
        member_id = str(old["member_id"])
        return [Event(event_id("member.erased", member_id), "member.erased", _record_time(record),
                      {"member_id": member_id}, f"m:{member_id}")]
    if not new.get("joined_at") or new.get("status") in ("erasing", "erased"):
        return []
    member_id = str(new["member_id"])
    if not old.get("joined_at"):
        return [Event(event_id("member.joined", member_id), "member.joined", str(new["joined_at"]),
                      member_data_of(new, settings, _scopes(member_id)), f"m:{member_id}")]
    if _followed(old, settings) == _followed(new, settings):
        return []
    seq = str(record["dynamodb"]["SequenceNumber"])
    return [Event(event_id("member.updated", member_id, seq), "member.updated", _record_time(record),
                  member_data_of(new, settings, _scopes(member_id)), f"m:{member_id}")]


def _consent(record: dict[str, Any], old: dict[str, Any], new: dict[str, Any], settings: Settings) -> list[Event]:
    if not new or (old and sorted(old.get("scopes") or []) == sorted(new.get("scopes") or [])):
        return []  # withdrawn with the erasure, or given again unchanged
    member_id = str(new["member_id"])
    profile = members.get_profile(member_id)
    if profile is None or not profile.joined_at or profile.status in ("erasing", "erased"):
        return []
    fields = {"member_id": member_id, "lifetime_spend_fen": profile.lifetime_spend_fen, "points": profile.points,
              "joined_at": profile.joined_at, "joined_store_id": profile.joined_store_id,
              "joined_campaign_id": profile.joined_campaign_id, "source": getattr(profile, "source", None)}
    seq = str(record["dynamodb"]["SequenceNumber"])
    return [Event(event_id("member.updated", member_id, seq), "member.updated", _record_time(record),
                  member_data_of(fields, settings, sorted(str(s) for s in new.get("scopes") or [])),
                  f"m:{member_id}")]


def _order(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    was, now = old.get("status"), new.get("status")
    order_id = str(new.get("order_id") or "")
    if was != "paid" and now == "paid" and new.get("paid_at"):
        return [Event(event_id("order.paid", order_id), "order.paid", str(new["paid_at"]), {
            "order_id": order_id, "member_id": _member(new.get("member_id")), "store_id": new["store_id"],
            "items": [{"sku": i["sku"], "qty": _int(i["qty"]), "price_fen": _int(i["price_fen"])}
                      for i in new.get("items") or []],
            "total_fen": _int(new.get("total_fen")), "discount_fen": _int(new.get("discount_fen")),
            "points_used": _int(new.get("points_used")), "payable_fen": _int(new.get("payable_fen")),
            "points_earned": _int(new.get("points_earned")), "coupon_id": new.get("coupon_id"),
            "paid_at": new["paid_at"]}, f"o:{order_id}")]
    if was != "refunded" and now == "refunded" and new.get("refunded_at"):
        return [Event(event_id("order.refunded", order_id), "order.refunded", str(new["refunded_at"]), {
            "order_id": order_id, "member_id": _member(new.get("member_id")), "store_id": new["store_id"],
            "refund_fen": _int(new.get("payable_fen")), "points_clawed_back": _int(new.get("points_clawed_back")),
            "refunded_at": new["refunded_at"]}, f"o:{order_id}")]
    return []


def _coupon(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    if old.get("status") == "redeemed" or new.get("status") != "redeemed" or not new.get("verification_id"):
        return []
    coupon_id = str(new["coupon_id"])
    # One redemption, one event: a reversal and a second redemption is another verification, another event.
    return [Event(event_id("coupon.redeemed", coupon_id, str(new["verification_id"])), "coupon.redeemed",
                  str(new["redeemed_at"]), {
                      "coupon_id": coupon_id, "template_id": new.get("template_id"),
                      "campaign_id": new.get("campaign_id"), "member_id": _member(new.get("member_id")),
                      "store_id": new.get("redeemed_store_id"), "redeemed_at": new["redeemed_at"]},
                  f"c:{coupon_id}")]


def _pos_sale(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    if old.get("status") == "done" or new.get("status") != "done":
        return []
    store_id, sale_id = str(new["store_id"]), str(new["sale_id"])
    return [Event(event_id("pos.sale", store_id, sale_id), "pos.sale", str(new["occurred_at"]), {
        "store_id": store_id, "sale_id": sale_id, "member_id": _member(new.get("member_id")),
        "total_fen": _int(new.get("total_fen")), "points_earned": _int(new.get("points_earned")),
        "coupons_redeemed": len(new.get("coupons_redeemed") or []), "occurred_at": new["occurred_at"]},
        f"p:{store_id}:{sale_id}")]


def _pos_return(old: dict[str, Any], new: dict[str, Any]) -> list[Event]:
    if old or not new:
        return []  # a return is written once, whole (services/pos_returns.py)
    store_id, return_id = str(new["store_id"]), str(new["return_id"])
    return [Event(event_id("pos.return", store_id, return_id), "pos.return", str(new["occurred_at"]), {
        "store_id": store_id, "return_id": return_id, "sale_id": new["sale_id"],
        "member_id": _member(new.get("member_id")), "total_fen": _int(new.get("total_fen")),
        "points_clawed_back": _int(new.get("points_clawed_back")),
        "coupons_returned": list(new.get("coupons_returned") or []), "occurred_at": new["occurred_at"]},
        f"p:{store_id}:{new['sale_id']}")]


# --------------------------------------------------------------------------------------------- fan-out


def message_group(endpoint_id: str, subject: str) -> str:
    """FIFO group: one endpoint's events about one subject stay in order; everything else flows in parallel."""
    group = f"{endpoint_id}:{subject}"
    return group if len(group) <= 128 else f"{endpoint_id}:{hashlib.sha256(subject.encode()).hexdigest()}"


def fan_out(settings: Settings, events: list[Event], endpoints: list[webhooks.WebhookEndpoint],
            send: Callable[[list[dict[str, Any]]], None]) -> int:
    """Store each event's body once, record a delivery per subscribed endpoint, and queue one message each."""
    at = clock.now()
    entries: list[dict[str, Any]] = []
    for event in events:
        targets = [e for e in endpoints if event.type in (e.events or ())]
        if not targets:
            continue
        body = webhooks.event_body_once(event.id, event.type, event.body(), at)
        for endpoint in targets:
            paused = endpoint.status == webhooks.PAUSED
            webhooks.start_delivery(endpoint.endpoint_id, event.id, event.type, event.created_at,
                                    webhooks.SKIPPED_PAUSED if paused else webhooks.PENDING)
            if paused:
                continue  # kept visible in its deliveries as `paused`; HQ resumes the endpoint (docs/webhooks.md)
            entries.append({
                "Id": str(len(entries) % SQS_BATCH),
                "MessageBody": json.dumps({"endpoint_id": endpoint.endpoint_id, "event_id": event.id,
                                           "type": event.type, "created_at": event.created_at, "body": body},
                                          ensure_ascii=False, separators=(",", ":")),
                "MessageGroupId": message_group(endpoint.endpoint_id, event.subject),
                # FIFO's own de-duplication (5 min) drops a copy queued by a stream redelivery; later copies find
                # the delivery already delivered and stop there.
                "MessageDeduplicationId": hashlib.sha256(f"{event.id}:{endpoint.endpoint_id}".encode()).hexdigest(),
            })
    for start in range(0, len(entries), SQS_BATCH):
        send(entries[start:start + SQS_BATCH])
    return len(entries)


def sqs_sender(settings: Settings) -> Callable[[list[dict[str, Any]]], None]:
    def send(entries: list[dict[str, Any]]) -> None:
        answer = aws_client("sqs").send_message_batch(QueueUrl=settings.webhook_queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} webhook messages not queued")  # the stream retries

    return send


def process_stream_batch(settings: Settings, records: list[dict[str, Any]],
                         send: Callable[[list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
    """One stream batch, in order. Returns Lambda's partial-batch answer: a failure resumes at its record (what went
    before it is queued; what is redelivered is stored already, so it is queued again with the same body)."""
    relevant = [r for r in records if record_kind(r) in RELEVANT]
    if not relevant:
        return {"batchItemFailures": []}
    endpoints = webhooks.all_endpoints()
    if not endpoints:
        return {"batchItemFailures": []}  # no one listens: nothing to produce (nor to read for it)
    wanted = {t for e in endpoints for t in e.events or ()}
    sender = send or sqs_sender(settings)
    queued = 0
    for record in relevant:
        try:
            events = [e for e in recognise(record, settings) if e.type in wanted]
            if events:
                queued += fan_out(settings, events, endpoints, sender)
        except Exception:
            logger.exception("webhook fan-out failed; the stream resumes at this record")
            return {"batchItemFailures": [{"itemIdentifier": str(record["dynamodb"]["SequenceNumber"])}]}
    logger.info("webhook events queued", extra={"records": len(records), "messages": queued})
    return {"batchItemFailures": []}
