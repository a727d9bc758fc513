"""Outbound webhooks: the endpoints HQ registers, each event's one body, and each endpoint's deliveries.

Keys (docs/data-model.md, "Outbound webhooks"):
- endpoint  `WEBHOOK#<endpoint_id>` / `ENDPOINT`; GSI1 `WEBHOOKS` / `<created_at>#<endpoint_id>` (all endpoints,
            oldest first: HQ registers a handful, so one partition and one Query serve the list and the fan-out).
- delivery  `WEBHOOK#<endpoint_id>` / `DELIVERY#<event time, UTC>#<event_id>`: newest last, a reverse Query on
            the prefix lists an endpoint's last deliveries.
- event     `WHEVENT#<event_id>` / `EVENT`: the body the event was first produced with (conditional put), so
            a stream redelivery sends the same bytes; expires after EVENT_TTL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from storeloop.data import cursors
from storeloop.data.models import Entity, read_page, start_key
from storeloop.domain.clock import parse_rfc3339, to_rfc3339

ENDPOINTS_PK = "WEBHOOKS"
DELIVERY_PREFIX = "DELIVERY#"
EVENT_TTL = timedelta(days=30)
DELIVERY_TTL = timedelta(days=90)
MAX_ATTEMPT_LOG = 20

ACTIVE, PAUSED = "active", "paused"
# delivery status
PENDING, DELIVERED, RETRYING, DEAD_LETTERED, SKIPPED_PAUSED = (
    "pending", "delivered", "retrying", "dead_lettered", "paused")


class AlreadyExists(Exception):
    """An endpoint with this id exists already (a retried registration under the same Idempotency-Key)."""


class SecretChanged(Exception):
    """The endpoint's secret changed between reading and rotating it (another rotation at the same moment)."""


def endpoint_pk(endpoint_id: str) -> str:
    return f"WEBHOOK#{endpoint_id}"


def delivery_sk(created_at: str, event_id: str) -> str:
    stamp = parse_rfc3339(created_at).astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{DELIVERY_PREFIX}{stamp}#{event_id}"


class WebhookEndpoint(Entity):
    endpoint_id = UnicodeAttribute()
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    status = UnicodeAttribute(default=ACTIVE)  # active | paused
    secret_enc = UnicodeAttribute()  # AES-GCM with the data key, bound to the endpoint (crypto.encrypt)
    previous_secret_enc = UnicodeAttribute(null=True)  # after a rotation, until previous_valid_until
    previous_valid_until = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)  # the first failed attempt since the last success
    last_success_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    paused_at = UnicodeAttribute(null=True)
    paused_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    secret_rotated_at = UnicodeAttribute(null=True)

    def public(self) -> dict[str, Any]:
        return {
            "endpoint_id": self.endpoint_id, "url": self.url, "events": list(self.events or ()),
            "status": self.status, "failing_since": self.failing_since, "last_success_at": self.last_success_at,
            "last_error": self.last_error, "paused_at": self.paused_at, "paused_reason": self.paused_reason,
            "previous_secret_valid_until": self.previous_valid_until, "created_at": self.created_at,
        }


class Attempt(MapAttribute[str, Any]):
    at = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    duration_ms = NumberAttribute()


class WebhookDelivery(Entity):
    endpoint_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    created_at = UnicodeAttribute()  # the event's
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    attempt_log = ListAttribute(of=Attempt, default=list)  # the last MAX_ATTEMPT_LOG attempts, oldest first
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    delivered_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL: DELIVERY_TTL after the event

    def public(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "type": self.type, "created_at": self.created_at, "status": self.status,
            "attempts": int(self.attempts or 0), "last_status_code": _int(self.last_status_code),
            "last_error": self.last_error, "last_attempt_at": self.last_attempt_at,
            "delivered_at": self.delivered_at,
            "attempt_log": [{"at": a.at, "status_code": _int(a.status_code), "error": a.error,
                             "duration_ms": int(a.duration_ms)} for a in self.attempt_log or ()],
        }


class WebhookEvent(Entity):
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    body = UnicodeAttribute()  # the exact JSON every delivery of this event sends
    expires_at = NumberAttribute()  # TTL


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- endpoints -----------------------------------------------------------------------------------------


def create_endpoint(endpoint_id: str, url: str, events: list[str], secret_enc: str, created_at: str,
                    created_by: str | None) -> WebhookEndpoint:
    item = WebhookEndpoint(endpoint_pk(endpoint_id), "ENDPOINT", GSI1PK=ENDPOINTS_PK,
                           GSI1SK=f"{created_at}#{endpoint_id}", endpoint_id=endpoint_id, url=url, events=events,
                           status=ACTIVE, secret_enc=secret_enc, created_at=created_at, created_by=created_by)
    try:
        item.save(condition=WebhookEndpoint.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise AlreadyExists(endpoint_id) from None
        raise
    return item


def get_endpoint(endpoint_id: str, *, consistent: bool = False) -> WebhookEndpoint | None:
    try:
        return WebhookEndpoint.get(endpoint_pk(endpoint_id), "ENDPOINT", consistent_read=consistent)
    except DoesNotExist:
        return None


def list_endpoints(limit: int, cursor: str | None) -> tuple[list[WebhookEndpoint], str | None]:
    """A page of the endpoints, oldest first, after the client's `cursor`; the next page's cursor (None: the last)."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=ENDPOINTS_PK)
    query = WebhookEndpoint.gsi1.query(ENDPOINTS_PK, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)


def all_endpoints() -> list[WebhookEndpoint]:
    """Every endpoint (one Query of the GSI1 partition; HQ registers a handful), for the stream's fan-out."""
    return [cast(WebhookEndpoint, e) for e in WebhookEndpoint.gsi1.query(ENDPOINTS_PK)]


def rotate_secret(endpoint: WebhookEndpoint, new_enc: str, previous_enc: str, previous_valid_until: str,
                  at: str) -> None:
    """The new secret signs from now; the one it replaces (read just before) keeps signing until the grace ends.
    Conditional on the secret read, so two rotations racing cannot both keep "their" previous secret: the one that
    loses raises SecretChanged."""
    try:
        endpoint.update(actions=[WebhookEndpoint.secret_enc.set(new_enc),
                                 WebhookEndpoint.previous_secret_enc.set(previous_enc),
                                 WebhookEndpoint.previous_valid_until.set(previous_valid_until),
                                 WebhookEndpoint.secret_rotated_at.set(at)],
                        condition=WebhookEndpoint.secret_enc == endpoint.secret_enc)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise SecretChanged(endpoint.endpoint_id) from None
        raise


def note_success(endpoint_id: str, at: str) -> None:
    WebhookEndpoint(endpoint_pk(endpoint_id), "ENDPOINT").update(
        actions=[WebhookEndpoint.last_success_at.set(at), WebhookEndpoint.failing_since.remove()],
        condition=WebhookEndpoint.PK.exists())


def note_failure(endpoint_id: str, at: str, error: str) -> WebhookEndpoint:
    """Keep the first failure's time since the last success (set only if absent); returns the endpoint after."""
    item = WebhookEndpoint(endpoint_pk(endpoint_id), "ENDPOINT")
    item.update(actions=[WebhookEndpoint.failing_since.set(WebhookEndpoint.failing_since | at),
                         WebhookEndpoint.last_error.set(error[:500])],
                condition=WebhookEndpoint.PK.exists())
    return item


def pause(endpoint_id: str, at: str, reason: str) -> bool:
    """active → paused with its reason, once (False if it was not active)."""
    try:
        WebhookEndpoint(endpoint_pk(endpoint_id), "ENDPOINT").update(
            actions=[WebhookEndpoint.status.set(PAUSED), WebhookEndpoint.paused_at.set(at),
                     WebhookEndpoint.paused_reason.set(reason[:500])],
            condition=WebhookEndpoint.status == ACTIVE)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def resume(endpoint_id: str) -> bool:
    try:
        WebhookEndpoint(endpoint_pk(endpoint_id), "ENDPOINT").update(
            actions=[WebhookEndpoint.status.set(ACTIVE), WebhookEndpoint.paused_at.remove(),
                     WebhookEndpoint.paused_reason.remove(), WebhookEndpoint.failing_since.remove()],
            condition=WebhookEndpoint.PK.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- events --------------------------------------------------------------------------------------------


def event_body_once(event_id: str, kind: str, body: str, at: datetime) -> str:
    """Store `body` as this event's body unless one is stored already; return the stored one (the first wins)."""
    item = WebhookEvent(f"WHEVENT#{event_id}", "EVENT", event_id=event_id, type=kind, body=body,
                        expires_at=int(at.timestamp() + EVENT_TTL.total_seconds()))
    try:
        item.save(condition=WebhookEvent.PK.does_not_exist())
        return body
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
    return str(WebhookEvent.get(f"WHEVENT#{event_id}", "EVENT", consistent_read=True).body)


# --- deliveries ----------------------------------------------------------------------------------------


def start_delivery(endpoint_id: str, event_id: str, kind: str, created_at: str, status: str = PENDING) -> bool:
    """The delivery record, once per (endpoint, event); False if it exists (a stream redelivery)."""
    item = WebhookDelivery(endpoint_pk(endpoint_id), delivery_sk(created_at, event_id), endpoint_id=endpoint_id,
                           event_id=event_id, type=kind, created_at=created_at, status=status, attempts=0,
                           attempt_log=[], expires_at=int(parse_rfc3339(created_at).timestamp()
                                                          + DELIVERY_TTL.total_seconds()))
    try:
        item.save(condition=WebhookDelivery.PK.does_not_exist())
        return True
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


def get_delivery(endpoint_id: str, sk: str) -> WebhookDelivery | None:
    try:
        return WebhookDelivery.get(endpoint_pk(endpoint_id), sk, consistent_read=True)
    except DoesNotExist:
        return None


def record_attempt(delivery: WebhookDelivery, status: str, at: datetime, status_code: int | None,
                   error: str | None, duration_ms: int) -> None:
    """One attempt appended (the log keeps the last MAX_ATTEMPT_LOG), the counters and the status set."""
    stamp = to_rfc3339(at)
    log = list(delivery.attempt_log or [])[-(MAX_ATTEMPT_LOG - 1):]
    log.append(Attempt(at=stamp, status_code=status_code, error=(error or None) and error[:300],
                       duration_ms=duration_ms))
    actions: list[Any] = [WebhookDelivery.attempts.add(1), WebhookDelivery.attempt_log.set(log),
                          WebhookDelivery.status.set(status), WebhookDelivery.last_attempt_at.set(stamp)]
    actions.append(WebhookDelivery.last_status_code.set(status_code) if status_code is not None
                   else WebhookDelivery.last_status_code.remove())
    actions.append(WebhookDelivery.last_error.set(error[:300]) if error else WebhookDelivery.last_error.remove())
    if status == DELIVERED:
        actions.append(WebhookDelivery.delivered_at.set(stamp))
    # Not yet delivered: a second copy of the message (SQS is at least once) finds it delivered and stops.
    delivery.update(actions=actions, condition=WebhookDelivery.status != DELIVERED)


def set_delivery_status(delivery: WebhookDelivery, status: str) -> None:
    delivery.update(actions=[WebhookDelivery.status.set(status)], condition=WebhookDelivery.status != DELIVERED)


def deliveries(endpoint_id: str, limit: int, cursor: str | None) -> tuple[list[WebhookDelivery], str | None]:
    """A page of an endpoint's deliveries, newest first, after the client's `cursor`; the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK"), check=lambda key: key["SK"].startswith(DELIVERY_PREFIX),
                              PK=endpoint_pk(endpoint_id))
    query = WebhookDelivery.query(endpoint_pk(endpoint_id), WebhookDelivery.SK.startswith(DELIVERY_PREFIX),
                                  scan_index_forward=False, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit)
    return items, cursors.next_cursor(last)
