"""Consents (PIPL): record what a member agreed to under which policy version; read the current consent."""

from __future__ import annotations

from storeloop.caller import Caller
from storeloop.data import consents
from storeloop.errors import Unauthenticated
from storeloop.schemas.privacy import ConsentOut, ConsentRequest, ConsentsOut

MARKETING_MESSAGES = "marketing_messages"


def _out(record: consents.ConsentRecord) -> ConsentOut:
    return ConsentOut(consent_id=record.consent_id, policy_version=record.policy_version, scopes=record.scopes,
                      recorded_at=record.recorded_at)


def record_consent(caller: Caller, body: ConsentRequest) -> ConsentOut:
    """A new consent replaces the current one (scopes left out are withdrawn); the old one stays in the history."""
    scopes: list[str] = list(dict.fromkeys(body.scopes))
    try:
        return _out(consents.record_consent(caller.member_id, body.policy_version, scopes))
    except consents.MemberGone:
        raise Unauthenticated("this member no longer exists") from None


def current_consent(member_id: str) -> ConsentOut | None:
    """For GET /me (`consents`) and anything else that must know what the member agreed to now."""
    record = consents.current_consent(member_id)
    return _out(record) if record is not None else None


def consents_of(member_id: str) -> ConsentsOut:
    return ConsentsOut(current=current_consent(member_id),
                       history=[_out(r) for r in consents.consent_history(member_id)])
