"""Consents (PIPL): every consent a member gave, kept as history, plus the current one for a one-GetItem check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data.keys import member_pk
from storeloop.data.members import MemberProfile
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.domain.clock import now, to_rfc3339

CURRENT_SK = "CONSENT#CURRENT"
HISTORY_PREFIX = "CONSENT#"


class MemberGone(Exception):
    """The member's profile no longer exists (erased): nothing may be written into their partition."""


class Consent(Entity):
    """One consent as given: history items are `CONSENT#<utc time>#<consent id>`, the current one `CONSENT#CURRENT`."""

    member_id = UnicodeAttribute()
    consent_id = UnicodeAttribute()
    policy_version = UnicodeAttribute()
    scopes = ListAttribute(of=UnicodeAttribute)  # a list, not a set: withdrawing everything leaves it empty
    recorded_at = UnicodeAttribute()


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    policy_version: str
    scopes: list[str]
    recorded_at: str


def _record(item: Consent) -> ConsentRecord:
    return ConsentRecord(item.consent_id, item.policy_version, [str(s) for s in item.scopes or []], item.recorded_at)


def record_consent(member_id: str, policy_version: str, scopes: list[str]) -> ConsentRecord:
    """Append to the history and replace the current consent, in one transaction, for an existing member only."""
    moment = now()
    consent_id = "c_" + uuid.uuid4().hex[:20]
    # Sortable UTC with microseconds, so the history reads in the order consents were given.
    history_sk = f"{HISTORY_PREFIX}{moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{consent_id}"
    recorded_at = to_rfc3339(moment)
    pk = member_pk(member_id)

    def item(sk: str) -> Consent:
        return Consent(pk, sk, member_id=member_id, consent_id=consent_id, policy_version=policy_version,
                       scopes=list(scopes), recorded_at=recorded_at)

    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(MemberProfile, pk, "PROFILE", condition=MemberProfile.PK.exists())
            tx.save(item(history_sk), condition=Consent.PK.does_not_exist())
            tx.save(item(CURRENT_SK))
    except TransactWriteError as exc:
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise MemberGone(member_id) from None
        raise
    return ConsentRecord(consent_id, policy_version, list(scopes), recorded_at)


def current_consent(member_id: str, consistent: bool = False) -> ConsentRecord | None:
    try:
        return _record(Consent.get(member_pk(member_id), CURRENT_SK, consistent_read=consistent))
    except DoesNotExist:
        return None


def consent_history(member_id: str) -> list[ConsentRecord]:
    """Oldest first."""
    items = Consent.query(member_pk(member_id), Consent.SK.startswith(HISTORY_PREFIX))
    return [_record(i) for i in items if i.SK != CURRENT_SK]
