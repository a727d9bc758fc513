"""Subscription messages: per-template grant counters, one record per outbound message, the WeChat token cache.

A grant is spent in the same transaction that creates the message's record (`MSG#<message id>`), so a message
spends at most one grant however often SQS delivers it, and parallel messages never share one grant.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data.consents import CURRENT_SK, Consent, MemberGone
from storeloop.data.keys import member_pk
from storeloop.data.members import MemberProfile
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.domain.clock import now, to_rfc3339

GRANT_PREFIX = "GRANT#"
SEND_PREFIX = "MSG#"
SEND_RECORD_DAYS = 30  # a message's record outlives any SQS redelivery (retention is 4 days) by far

# DynamoDB cancels a transaction that touches an item another transaction is writing (TransactionConflict);
# parallel sends to one member all touch its grant, so that is expected and retried with jitter.
CONFLICT_ATTEMPTS = 6


class GrantBusy(Exception):
    """Transactions on this grant kept conflicting; the caller retries later."""


class MessageGrant(Entity):
    """PK MEMBER#<m>, SK GRANT#<template id>: `available` unused accepts of that template."""

    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    available = NumberAttribute(default=0)
    accepted_total = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class MessageSend(Entity):
    """PK MEMBER#<m>, SK MSG#<message id>: ids and outcome of one outbound message (never its content)."""

    member_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    status = UnicodeAttribute()  # sending | sent | dropped
    attempt = UnicodeAttribute()  # the delivery attempt that holds the grant
    lease_until = NumberAttribute()  # epoch seconds; after it another attempt may take over a stuck "sending"
    outcome = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL


class AccessTokenCache(Entity):
    """PK WECHAT#ACCESS_TOKEN, SK APP#<appid>: the app's access token (encrypted), shared by every container."""

    token_enc = UnicodeAttribute()
    valid_until = NumberAttribute()  # epoch seconds, with a safety margin before WeChat's expiry
    generation = NumberAttribute()  # bumped on every refresh; a refresh replaces only the generation it read
    refreshed_at = UnicodeAttribute()


def grant_sk(template_id: str) -> str:
    return f"{GRANT_PREFIX}{template_id}"


# GSI1 lists a template's grant holders (the audience a campaign notifies), spread over shards by member so a
# template thousands subscribe to at once does not make one hot index partition.
HOLDER_SHARDS = 10


def holders_pk(template_id: str, shard: int) -> str:
    return f"GRANTS#{template_id}#{shard}"


def holder_shard(member_id: str) -> int:
    return int(hashlib.sha256(member_id.encode()).hexdigest()[:8], 16) % HOLDER_SHARDS


def send_sk(message_id: str) -> str:
    return f"{SEND_PREFIX}{message_id}"


# ---------------------------------------------------------------- grants


def add_grants(member_id: str, template_ids: list[str]) -> None:
    """ADD 1 to each template's grant (a template listed twice gets 2), for an existing member only."""
    counts: dict[str, int] = {}
    for t in template_ids:
        counts[t] = counts.get(t, 0) + 1
    if not counts:
        return
    pk, at = member_pk(member_id), to_rfc3339(now())
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.condition_check(MemberProfile, pk, "PROFILE", condition=MemberProfile.PK.exists())
                for template_id, n in counts.items():
                    tx.update(MessageGrant(pk, grant_sk(template_id)), actions=[
                        MessageGrant.member_id.set(member_id), MessageGrant.template_id.set(template_id),
                        MessageGrant.available.add(n), MessageGrant.accepted_total.add(n),
                        MessageGrant.updated_at.set(at),
                        MessageGrant.GSI1PK.set(holders_pk(template_id, holder_shard(member_id))),
                        MessageGrant.GSI1SK.set(member_id)])
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise MemberGone(member_id) from None
            if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            _backoff(attempt)


def grants_of(member_id: str, consistent: bool = False) -> list[MessageGrant]:
    return list(MessageGrant.query(member_pk(member_id), MessageGrant.SK.startswith(GRANT_PREFIX),
                                   consistent_read=consistent))


def grant_holders(template_id: str, page_size: int = 500) -> Iterator[str]:
    """Members holding an unused grant of this template (GSI1, shard by shard; eventually consistent).

    For the campaign flow's audience; the sender still checks grant and consent when it sends.
    """
    for shard in range(HOLDER_SHARDS):
        holders = MessageGrant.gsi1.query(holders_pk(template_id, shard), page_size=page_size,
                                          filter_condition=MessageGrant.available > 0)
        for grant in holders:
            yield str(cast(MessageGrant, grant).member_id)  # the shared index is typed for Entity


def get_grant(member_id: str, template_id: str) -> MessageGrant | None:
    try:
        return MessageGrant.get(member_pk(member_id), grant_sk(template_id), consistent_read=True)
    except DoesNotExist:
        return None


# ---------------------------------------------------------------- spending a grant on a message

ClaimOutcome = Literal["claimed", "already_recorded", "no_consent", "no_grant"]


@dataclass(frozen=True)
class SendClaim:
    member_id: str
    template_id: str
    message_id: str
    attempt: str


def claim_grant(claim: SendClaim, reason: str, scope: str, lease_until: float) -> ClaimOutcome:
    """Spend one grant on this message, atomically with creating its record, if the member holds `scope` consent.

    One transaction: the current consent contains `scope`; the grant's `available > 0`, decremented; the message
    record does not exist yet. So a message redelivered spends nothing more, and N grants serve N messages.
    """
    pk = member_pk(claim.member_id)
    moment = now()
    record = MessageSend(pk, send_sk(claim.message_id), member_id=claim.member_id, message_id=claim.message_id,
                         template_id=claim.template_id, reason=reason, status="sending", attempt=claim.attempt,
                         lease_until=int(lease_until), created_at=to_rfc3339(moment), updated_at=to_rfc3339(moment),
                         expires_at=int(moment.timestamp()) + SEND_RECORD_DAYS * 86400)
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            # Written in the order pynamodb sends them (condition checks, deletes, puts, updates), so the
            # cancellation reasons line up: 0 consent, 1 record, 2 grant.
            with TransactWrite(connection=connection()) as tx:
                tx.condition_check(Consent, pk, CURRENT_SK, condition=Consent.scopes.contains(scope))
                tx.save(record, condition=MessageSend.PK.does_not_exist())
                tx.update(MessageGrant(pk, grant_sk(claim.template_id)),
                          actions=[MessageGrant.available.add(-1), MessageGrant.updated_at.set(to_rfc3339(moment))],
                          condition=MessageGrant.available > 0)
            return "claimed"
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[1:2] == ["ConditionalCheckFailed"]:
                return "already_recorded"  # checked first: a redelivery must not read as "no grant"
            if codes[:1] == ["ConditionalCheckFailed"]:
                return "no_consent"
            if codes[2:3] == ["ConditionalCheckFailed"]:
                return "no_grant"
            if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                raise GrantBusy(claim.message_id) from None
            _backoff(attempt)
    raise GrantBusy(claim.message_id)


def get_send(member_id: str, message_id: str) -> MessageSend | None:
    try:
        return MessageSend.get(member_pk(member_id), send_sk(message_id), consistent_read=True)
    except DoesNotExist:
        return None


def take_over(claim: SendClaim, lease_until: float) -> bool:
    """A "sending" record whose attempt died (its lease ran out) passes to this attempt, with the grant it holds."""
    try:
        MessageSend(member_pk(claim.member_id), send_sk(claim.message_id)).update(
            actions=[MessageSend.attempt.set(claim.attempt), MessageSend.lease_until.set(int(lease_until)),
                     MessageSend.updated_at.set(to_rfc3339(now()))],
            condition=(MessageSend.status == "sending") & (MessageSend.lease_until < int(time.time())))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark_sent(claim: SendClaim, outcome: str = "sent") -> bool:
    return _finish(claim, "sent", outcome)


def _finish(claim: SendClaim, status: str, outcome: str) -> bool:
    try:
        MessageSend(member_pk(claim.member_id), send_sk(claim.message_id)).update(
            actions=[MessageSend.status.set(status), MessageSend.outcome.set(outcome),
                     MessageSend.updated_at.set(to_rfc3339(now()))],
            condition=MessageSend.attempt == claim.attempt)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False  # another attempt took the record over; it owns the outcome
        raise
    return True


def release_grant(claim: SendClaim) -> bool:
    """Give the grant back and forget the record, so the retry starts afresh (WeChat failed, nothing was sent).

    Only the attempt holding the record may; if the member was erased meanwhile, only the record goes.
    """
    pk = member_pk(claim.member_id)
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with TransactWrite(connection=connection()) as tx:  # sent in this order: 0 record, 1 grant
                tx.delete(MessageSend(pk, send_sk(claim.message_id)), condition=MessageSend.attempt == claim.attempt)
                tx.update(MessageGrant(pk, grant_sk(claim.template_id)),
                          actions=[MessageGrant.available.add(1), MessageGrant.updated_at.set(to_rfc3339(now()))],
                          condition=MessageGrant.PK.exists())
            return True
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                return False
            if codes[1:2] == ["ConditionalCheckFailed"]:
                _delete_send(claim)
                return False
            if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            _backoff(attempt)
    return False


def _delete_send(claim: SendClaim) -> None:
    with contextlib.suppress(DeleteError):  # best effort: the record expires by TTL anyway
        MessageSend(member_pk(claim.member_id), send_sk(claim.message_id)).delete(
            condition=MessageSend.attempt == claim.attempt)


def zero_grant(claim: SendClaim, outcome: str) -> None:
    """WeChat says the member holds no grant for this template: ours is stale, so it becomes 0 and the record ends."""
    pk = member_pk(claim.member_id)
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(MessageSend(pk, send_sk(claim.message_id)),
                          actions=[MessageSend.status.set("dropped"), MessageSend.outcome.set(outcome),
                                   MessageSend.updated_at.set(to_rfc3339(now()))],
                          condition=MessageSend.attempt == claim.attempt)
                tx.update(MessageGrant(pk, grant_sk(claim.template_id)),
                          actions=[MessageGrant.available.set(0), MessageGrant.updated_at.set(to_rfc3339(now()))],
                          condition=MessageGrant.PK.exists())
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes:
                _finish(claim, "dropped", outcome)
                return
            if "TransactionConflict" not in codes or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            _backoff(attempt)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * (2 ** attempt)))  # noqa: S311 - jitter, not security


# ---------------------------------------------------------------- the WeChat access token, shared by containers

TOKEN_PK = "WECHAT#ACCESS_TOKEN"  # noqa: S105 - a key name, not a secret


@dataclass(frozen=True)
class StoredToken:
    token_enc: str
    valid_until: float
    generation: int

    def __repr__(self) -> str:
        return f"StoredToken(generation={self.generation}, valid_until={self.valid_until})"


def load_access_token(appid: str) -> StoredToken | None:
    try:
        item = AccessTokenCache.get(TOKEN_PK, f"APP#{appid}", consistent_read=True)
    except DoesNotExist:
        return None
    return StoredToken(item.token_enc, float(item.valid_until), int(item.generation))


def save_access_token(appid: str, token_enc: str, valid_until: float, replaces_generation: int | None) -> bool:
    """Store a refreshed token unless another container refreshed first (then False: read theirs)."""
    generation = 1 if replaces_generation is None else replaces_generation + 1
    item = AccessTokenCache(TOKEN_PK, f"APP#{appid}", token_enc=token_enc, valid_until=int(valid_until),
                            generation=generation, refreshed_at=to_rfc3339(now()))
    condition = (AccessTokenCache.PK.does_not_exist() if replaces_generation is None
                 else AccessTokenCache.generation == replaces_generation)
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
