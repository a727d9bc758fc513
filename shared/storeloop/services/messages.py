"""Subscription messages: record grants, queue messages (for flows and schedules), and send them one grant each.

Spending a grant, and why before the WeChat call: the grant is spent (conditional decrement) in the same
transaction that creates the message's record `MSG#<message id>`, then WeChat is called.
- Parallel sends cannot overspend: each decrement needs `available > 0`, so N grants let exactly N through.
- A redelivered message spends nothing more: its record exists, so the transaction fails on it and the
  record's status says what happened (sent / dropped: acknowledge; sending: see below).
- WeChat fails with a retryable error (network, 5xx, busy, token trouble twice, any other errcode): the grant is
  given back and the record deleted in one transaction, then the SQS record fails; the retry starts afresh, and
  after three receives the DLQ holds the message with the grant still available.
- WeChat answers 43101 (no grant at WeChat): our count was stale; the grant becomes 0, the record `dropped`.
- The attempt dies between spending and finishing (timeout, crash): the record stays `sending` with a lease
  (the invocation's remaining time); the redelivery, which SQS holds back for the visibility timeout (6 x the
  function timeout), finds the lease run out, takes the record over and sends with the grant already spent.
Spending after the call instead would let parallel sends all reach WeChat before any decrement failed, so
WeChat's own 43101 would be the only guard: exactly what "no grant spent twice" must not rely on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import crypto
from storeloop.caller import Caller
from storeloop.data import consents, members
from storeloop.data.connection import aws_client
from storeloop.data.messages import (
    GrantBusy,
    SendClaim,
    add_grants,
    claim_grant,
    get_send,
    grant_holders,
    grants_of,
    load_access_token,
    mark_sent,
    release_grant,
    save_access_token,
    take_over,
    zero_grant,
)
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import Unauthenticated
from storeloop.schemas.messages import GrantOut, OutboundMessage, SubscribeRequest, SubscribeResponse
from storeloop.services.consents import MARKETING_MESSAGES
from storeloop.settings import Settings, get_settings
from storeloop.wechat.messages import AccessToken, SubscribeMessageClient, WeChatMessageError

logger = Logger(service="storeloop")

MAX_MESSAGE_BYTES = 200 * 1024  # SQS takes 256 KiB; the rest is room for attributes
MIN_TIME_LEFT_MS = 8_000  # enough for a token refresh and two sends at 3 s timeouts


class RetryLater(Exception):
    """The record fails (batchItemFailures): SQS delivers it again, then the DLQ takes it."""


# ---------------------------------------------------------------- POST /me/message-subscriptions


def subscribe(caller: Caller, body: SubscribeRequest) -> SubscribeResponse:
    """Each accept is one grant (one send) for that template; other answers change nothing."""
    accepted = [t for t, result in body.results.items() if result == "accept"]
    not_accepted = [t for t, result in body.results.items() if result != "accept"]
    try:
        add_grants(caller.member_id, accepted)
    except consents.MemberGone:
        raise Unauthenticated("this member no longer exists") from None
    held = {g.template_id: int(g.available) for g in grants_of(caller.member_id, consistent=True)}
    return SubscribeResponse(accepted=accepted, not_accepted=not_accepted,
                             grants=[GrantOut(template_id=t, available=held.get(t, 0)) for t in body.results])


# ---------------------------------------------------------------- enqueue (campaign flow, schedules)

def _sqs(region: str) -> Any:
    return aws_client("sqs")


def _queue_url(settings: Settings | None) -> tuple[Settings, str]:
    s = settings or get_settings()
    if not s.message_queue_url:
        raise RuntimeError("MESSAGE_QUEUE_URL is not set for this function (see template.yaml)")
    return s, s.message_queue_url


def outbound_message(member_id: str, template_id: str, data: dict, page: str | None, reason: str,
                     message_id: str | None = None) -> OutboundMessage:
    """A message as queued: plain field values become WeChat's {"value": …}; a message id is made if none given."""
    return OutboundMessage(
        message_id=message_id or "msg_" + uuid.uuid4().hex,
        member_id=member_id, template_id=template_id, page=page, reason=reason,
        data={k: v if isinstance(v, dict) else {"value": str(v)} for k, v in data.items()},
        enqueued_at=to_rfc3339(now()))


def _body(message: OutboundMessage) -> str:
    body = message.model_dump_json()
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise ValueError("message too large for SQS")
    return body


def enqueue_message(member_id: str, template_id: str, data: dict, page: str | None, reason: str, *,
                    message_id: str | None = None, settings: Settings | None = None) -> str:
    """Queue one subscription message for a member; returns its message id.

    `data` is the template's fields, either WeChat's shape {"thing1": {"value": "…"}} or plain {"thing1": "…"}.
    Whether it is sent (grant, consent) is decided by the sender. Give a stable `message_id` (e.g.
    "<campaign>:<member>:reminder") to make a retried enqueue spend at most one grant: the sender records each
    message id once. The body carries ids and the template's fields only, never the openid.
    """
    s, url = _queue_url(settings)
    message = outbound_message(member_id, template_id, data, page, reason, message_id)
    _sqs(s.region).send_message(QueueUrl=url, MessageBody=_body(message))
    logger.info("message queued", extra={"message_id": message.message_id, "member_id": member_id,
                                         "template_id": template_id, "reason": reason})
    return message.message_id


def enqueue_messages(batch: list[OutboundMessage], *, settings: Settings | None = None) -> list[str]:
    """Queue many messages (build each with `outbound_message`), ten per SQS call; returns the message ids.

    For the campaign flow's audience and the daily reminders. Raises if SQS refuses any entry after retries,
    naming none of the members (the caller retries the batch: stable message ids make that safe).
    """
    s, url = _queue_url(settings)
    sqs = _sqs(s.region)
    for start in range(0, len(batch), 10):
        entries = [{"Id": str(i), "MessageBody": _body(m)} for i, m in enumerate(batch[start:start + 10])]
        for attempt in range(3):
            failed = {f["Id"] for f in sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])}
            entries = [e for e in entries if e["Id"] in failed]
            if not entries:
                break
            time.sleep(0.1 * (attempt + 1))
        if entries:
            raise RuntimeError(f"SQS refused {len(entries)} message(s) of a batch")
    logger.info("messages queued", extra={"count": len(batch)})
    return [m.message_id for m in batch]


def audience(template_id: str) -> Iterator[str]:
    """Member ids holding an unused grant of this template: who a campaign's message can reach (consent is checked
    when each is sent)."""
    return grant_holders(template_id)


# ---------------------------------------------------------------- the sender (SQS consumer)


class TableTokenStore:
    """The access token shared through the table, encrypted at rest with the data key."""

    PURPOSE = "wechat_access_token"

    def __init__(self, settings: Settings) -> None:
        self._key = settings.data_key
        self._appid = settings.wechat_appid

    def load(self) -> AccessToken | None:
        stored = load_access_token(self._appid)
        if stored is None:
            return None
        return AccessToken(crypto.decrypt(self._key, stored.token_enc, self.PURPOSE), stored.valid_until,
                           stored.generation)

    def save(self, token: AccessToken, replaces: AccessToken | None) -> bool:
        return save_access_token(self._appid, crypto.encrypt(self._key, token.value, self.PURPOSE),
                                 token.valid_until, replaces.generation if replaces is not None else None)


class OutboundSender:
    """Sends the messages of one SQS batch; `deliver` returns an outcome or raises RetryLater."""

    def __init__(self, settings: Settings, client: SubscribeMessageClient,
                 remaining_ms: Any = None) -> None:
        self._settings = settings
        self._client = client
        self._remaining_ms = remaining_ms  # callable → ms left in this invocation (Lambda context), or None

    def _time_left_ms(self) -> int | None:
        return int(self._remaining_ms()) if self._remaining_ms is not None else None

    def deliver(self, body: str) -> str:
        try:
            message = OutboundMessage.model_validate_json(body)
        except ValueError:
            # Never valid: fail it, so after the retries the DLQ keeps it for someone to look at.
            logger.error("outbound message is malformed")
            raise RetryLater("malformed message") from None
        left = self._time_left_ms()
        if left is not None and left < MIN_TIME_LEFT_MS:
            raise RetryLater("not enough time left in this invocation")  # nothing spent yet
        ids = {"message_id": message.message_id, "member_id": message.member_id,
               "template_id": message.template_id, "reason": message.reason}

        profile = members.get_profile(message.member_id)
        if profile is None or not profile.openid_enc or profile.status != "active":
            return self._dropped(ids, "member_gone")
        # The lease outlives this invocation a little: a record still "sending" after it belongs to a dead attempt.
        lease_until = time.time() + (left / 1000 if left is not None else 60) + 5
        claim = SendClaim(message.member_id, message.template_id, message.message_id, uuid.uuid4().hex)
        try:
            outcome = claim_grant(claim, message.reason, MARKETING_MESSAGES, lease_until)
        except GrantBusy:
            raise RetryLater("grant busy") from None
        if outcome == "no_consent":
            return self._dropped(ids, "no_consent")
        if outcome == "no_grant":
            return self._dropped(ids, "no_grant")
        if outcome == "already_recorded":
            record = get_send(message.member_id, message.message_id)
            if record is not None and record.status in ("sent", "dropped"):
                logger.info("message already handled", extra={**ids, "status": record.status})
                return "duplicate"
            if record is None or not take_over(claim, lease_until):
                raise RetryLater("another attempt is sending this message")
            logger.info("message taken over from a dead attempt", extra=ids)

        openid = crypto.decrypt(self._settings.data_key, profile.openid_enc, "openid")
        try:
            result = self._client.send(openid, message.template_id, message.data, message.page)
        except WeChatMessageError as exc:
            release_grant(claim)
            logger.warning("message send failed; grant given back", extra={**ids, "errcode": exc.errcode})
            raise RetryLater(f"errcode {exc.errcode}") from None
        if result.no_grant:
            zero_grant(claim, "wechat_43101")
            return self._dropped(ids, "no_grant_at_wechat")
        mark_sent(claim)
        logger.info("message sent", extra=ids)
        return "sent"

    @staticmethod
    def _dropped(ids: dict[str, str], reason: str) -> str:
        logger.info("message dropped", extra={**ids, "drop_reason": reason})
        return "dropped"


def outbound_sender(settings: Settings, remaining_ms: Any = None) -> OutboundSender:
    client = SubscribeMessageClient(settings.wechat_api_base, settings.wechat_appid, settings.wechat_app_secret,
                                    TableTokenStore(settings))
    return OutboundSender(settings, client, remaining_ms)


def grants_available(member_id: str) -> dict[str, int]:
    """template id → unused grants (for the export and for tests)."""
    return {g.template_id: int(g.available) for g in grants_of(member_id, consistent=True)}
