"""Outbound webhooks, delivering: one SQS FIFO message per (event, endpoint) POSTed signed, every attempt recorded,
retried with exponential backoff (the message's visibility), then the DLQ (the queue's redrive policy); an endpoint
failing for 24 h is paused with its reason (docs/webhooks.md).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from storeloop.data.connection import aws_client
from storeloop.data.webhooks import (
    ACTIVE,
    DEAD_LETTERED,
    DELIVERED,
    PAUSED,
    RETRYING,
    SKIPPED_PAUSED,
    WebhookEndpoint,
    delivery_sk,
    get_delivery,
    get_endpoint,
    note_failure,
    note_success,
    pause,
    record_attempt,
    set_delivery_status,
)
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.domain.webhooks import UrlRefused, backoff_seconds, should_pause, signature_header
from storeloop.errors import ValidationFailed
from storeloop.services import webhooks
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

TIMEOUT_SECONDS = 5
USER_AGENT = "StoreLoop-Webhooks/1"
MAX_ERROR_BODY = 200


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One POST, no redirects followed (a redirect could point anywhere, including inside our network): a 2xx is
    delivered, anything else (3xx too) a failure."""
    parts = urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    conn = conn_cls(parts.hostname or "", parts.port, timeout=TIMEOUT_SECONDS)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read(4096)
        took = int((time.monotonic() - started) * 1000)
        if 200 <= resp.status < 300:
            return Outcome(True, resp.status, None, took)
        snippet = text[:MAX_ERROR_BODY].decode("utf-8", "replace")
        return Outcome(False, resp.status, f"HTTP {resp.status}: {snippet}".strip(), took)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:300], int((time.monotonic() - started) * 1000))
    finally:
        conn.close()


Poster = Callable[[str, bytes, dict[str, str]], Outcome]


class Deliverer:
    """One SQS batch. Messages of one FIFO group come in order: after a failure, the group's later messages in the
    batch are handed back untried, so they never overtake it."""

    def __init__(self, settings: Settings, poster: Poster = post, queue: Any = None) -> None:
        self.settings = settings
        self.poster = poster
        self.queue = queue
        self.endpoints: dict[str, WebhookEndpoint | None] = {}

    def _sqs(self) -> Any:
        return self.queue or aws_client("sqs")

    def endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        if endpoint_id not in self.endpoints:
            self.endpoints[endpoint_id] = get_endpoint(endpoint_id, consistent=True)
        return self.endpoints[endpoint_id]

    def run(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        failed: list[dict[str, str]] = []
        blocked: set[str] = set()
        for record in records:
            group = str((record.get("attributes") or {}).get("MessageGroupId") or record["messageId"])
            if group in blocked:
                failed.append({"itemIdentifier": record["messageId"]})
                continue
            try:
                ok = self.deliver(record)
            except Exception:
                logger.exception("webhook delivery crashed; the message comes back")
                ok = False
            if not ok:
                blocked.add(group)
                failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    def deliver(self, record: dict[str, Any]) -> bool:
        """True when the message is done with (delivered, or nothing left to do); False to have SQS bring it back."""
        message = json.loads(record["body"])
        endpoint_id, event_id = str(message["endpoint_id"]), str(message["event_id"])
        sk = delivery_sk(message["created_at"], event_id)
        delivery = get_delivery(endpoint_id, sk)
        endpoint = self.endpoint(endpoint_id)
        if endpoint is None or delivery is None:
            return True  # the endpoint was removed: nothing to deliver to
        if delivery.status == DELIVERED:
            return True  # a second copy of the message (SQS is at least once): sent already
        # (dead_lettered or paused ones come back only when ops redrive the DLQ: they are attempted again)
        if endpoint.status == PAUSED:
            set_delivery_status(delivery, SKIPPED_PAUSED)
            self._to_dlq(record)  # kept for a redrive once HQ resumes the endpoint
            return True
        attempt = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        now = clock.now()
        body = str(message["body"]).encode()
        try:
            webhooks.checked_url(self.settings, endpoint.url)  # again at delivery: DNS may have changed since
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                       "X-StoreLoop-Event-Id": event_id, "X-StoreLoop-Event-Type": str(message["type"]),
                       "X-StoreLoop-Timestamp": timestamp,
                       "X-StoreLoop-Signature": signature_header(webhooks.signing_secrets(self.settings, endpoint),
                                                                 timestamp, body)}
            outcome = self.poster(endpoint.url, body, headers)
        except (UrlRefused, ValidationFailed) as exc:
            details = getattr(exc, "details", None)
            detail = details[0]["message"] if details else str(exc)
            outcome = Outcome(False, None, f"URL refused: {detail}", 0)
        last = attempt >= self.settings.webhook_max_attempts
        if outcome.ok:
            record_attempt(delivery, DELIVERED, now, outcome.status_code, None, outcome.duration_ms)
            if endpoint.failing_since or endpoint.last_success_at is None:
                note_success(endpoint_id, to_rfc3339(now))
                endpoint.failing_since = None
            logger.info("webhook delivered", extra={"endpoint_id": endpoint_id, "event_id": event_id,
                                                    "attempt": attempt})
            return True
        status = DEAD_LETTERED if last else RETRYING
        record_attempt(delivery, status, now, outcome.status_code, outcome.error, outcome.duration_ms)
        self._note_failure(endpoint, outcome.error or "failed")
        logger.warning("webhook attempt failed", extra={"endpoint_id": endpoint_id, "event_id": event_id,
                                                        "attempt": attempt, "status_code": outcome.status_code})
        # Back off: the message stays invisible this long (then SQS hands it out again); after the last attempt it
        # is visible at once, and the redrive policy (maxReceiveCount = webhook_max_attempts) moves it to the DLQ.
        wait = 0 if last else backoff_seconds(attempt, self.settings.webhook_retry_base_seconds)
        self._set_visibility(record, wait)
        return False

    def _note_failure(self, endpoint: WebhookEndpoint, error: str) -> None:
        now = clock.now()
        after = note_failure(endpoint.endpoint_id, to_rfc3339(now), error)
        since = parse_rfc3339(after.failing_since) if after.failing_since else None
        if after.status == ACTIVE and should_pause(since, now):
            reason = f"every delivery failed since {after.failing_since}; last error: {error}"
            if pause(endpoint.endpoint_id, to_rfc3339(now), reason):
                logger.warning("webhook endpoint paused", extra={"endpoint_id": endpoint.endpoint_id})
        self.endpoints.pop(endpoint.endpoint_id, None)  # read it again for the batch's next message

    def _queue_url(self, record: dict[str, Any]) -> str:
        return self.settings.webhook_queue_url

    def _set_visibility(self, record: dict[str, Any], seconds: int) -> None:
        try:
            self._sqs().change_message_visibility(QueueUrl=self._queue_url(record),
                                                  ReceiptHandle=record["receiptHandle"], VisibilityTimeout=seconds)
        except Exception:  # noqa: BLE001 - without it the queue's own visibility timeout applies
            logger.exception("could not set the webhook message's backoff")

    def _to_dlq(self, record: dict[str, Any]) -> None:
        attrs = record.get("attributes") or {}
        self._sqs().send_message(QueueUrl=self.settings.webhook_dlq_url, MessageBody=record["body"],
                                 MessageGroupId=str(attrs.get("MessageGroupId") or "paused"),
                                 MessageDeduplicationId=str(attrs.get("MessageDeduplicationId") or record["messageId"]))


def process_batch(settings: Settings, records: list[dict[str, Any]]) -> dict[str, Any]:
    return Deliverer(settings).run(records)
