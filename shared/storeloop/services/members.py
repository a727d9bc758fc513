"""Members: the profile with tier and points, the points ledger, and the short-lived member code a POS scans."""

from __future__ import annotations

from storeloop import tokens
from storeloop.caller import Caller
from storeloop.data import members, points
from storeloop.domain.points import tier_for
from storeloop.errors import Conflict, Unauthenticated, ValidationFailed
from storeloop.schemas.members import MemberCodeOut, MeOut, PointsEntryOut, PointsLedgerOut
from storeloop.settings import Settings

MEMBER_CODE = "member_code"


def _profile(caller: Caller) -> members.MemberProfile:
    profile = members.get_profile(caller.member_id)
    if profile is None:
        raise Unauthenticated("this member no longer exists")
    return profile


def me(settings: Settings, caller: Caller) -> MeOut:
    from storeloop.services import consents

    profile = _profile(caller)
    spend = int(profile.lifetime_spend_fen or 0)
    current = consents.current_consent(caller.member_id)
    return MeOut(member_id=caller.member_id, is_member=profile.joined_at is not None, joined_at=profile.joined_at,
                 tier=tier_for(spend, settings.tier_thresholds), points=int(profile.points or 0),
                 lifetime_spend_fen=spend, consents=current)


def my_points(caller: Caller, limit: int, cursor: str | None) -> PointsLedgerOut:
    items, after = points.ledger(caller.member_id, limit, cursor)  # a cursor not of this ledger: 400 first
    profile = _profile(caller)
    return PointsLedgerOut(balance=int(profile.points or 0), items=[PointsEntryOut(**e.public()) for e in items],
                           next=after)


def member_code(settings: Settings, caller: Caller) -> MemberCodeOut:
    """A signed code naming the member, valid MEMBER_CODE_TTL_SECONDS: a screenshot of it soon goes stale."""
    _profile(caller)
    ttl = settings.member_code_ttl_seconds
    return MemberCodeOut(code=tokens.issue(settings.token_signing_key, MEMBER_CODE, caller.member_id, ttl),
                         expires_in=ttl)


class MemberCodeExpired(Conflict):
    code, message = "MEMBER_CODE_EXPIRED", "the member code has expired; scan a fresh one"


def member_of_code(settings: Settings, code: str, leeway_seconds: int) -> str:
    """The member a POS-scanned code names. The till reports a sale after the scan, so `leeway_seconds` of grace."""
    try:
        claims = tokens.read(settings.token_signing_key, MEMBER_CODE, code, leeway=leeway_seconds)
    except tokens.TokenExpired:
        raise MemberCodeExpired() from None
    except tokens.TokenInvalid:
        raise ValidationFailed("member_code is not valid", details=[{"field": "member_code", "issue": "invalid"}]
                               ) from None
    member_id = str(claims["sub"])
    if members.get_profile(member_id) is None:
        raise ValidationFailed("member_code names no member", details=[{"field": "member_code", "issue": "unknown"}])
    return member_id
