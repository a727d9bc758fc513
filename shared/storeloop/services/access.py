"""Who may act as staff: assigning and revoking the role, the staff lists, and the hook every revocation calls.

The member's staff access is kept on the profile the authorizer reads on every request (data/staff.py,
data/access.py), so an assignment or a revocation is in force from the member's very next request, whatever
tokens were issued before. `on_access_revoked` is the one place a revocation or an erasure announces itself: with
API Gateway's authorizer cache on (a later issue), it is where the stage's authorizer cache is flushed.
"""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger

from storeloop.api.pagination import decode_cursor, encode_cursor
from storeloop.data import staff
from storeloop.errors import NotFound, RateLimited, ValidationFailed
from storeloop.schemas.staff import StaffList, StaffMemberOut, StaffRevokedOut
from storeloop.schemas.stores import ID_PATTERN

logger = Logger(service="storeloop")


def on_access_revoked(member_id: str) -> None:
    """Called after a member's staff role was revoked or the member erased (their tokens must stop at once).

    Nothing to flush today: the authorizer caches nothing (ReauthorizeEvery 0) and reads the profile on every
    request. When the authorizer cache is turned on, flush the stage's authorizer cache here
    (apigateway FlushStageAuthorizersCache): its entries are keyed by token, not by member.
    """
    logger.info("access revoked", extra={"member_id": member_id})


def assign_staff(member_id: str, role: str, store_ids: list[str]) -> None:
    try:
        staff.assign(member_id, role, store_ids)
    except staff.MemberNotFound:
        raise NotFound(f"member {member_id} not found") from None
    except staff.Busy:
        raise RateLimited("the staff assignment is being changed; retry", headers={"Retry-After": "1"}) from None
    except staff.TooManyChanges:
        raise ValidationFailed("too many store changes at once", details=[
            {"field": "store_ids", "issue": "too_many_changes", "message": "revoke the member first"}]) from None


def revoke_staff(member_id: str) -> StaffRevokedOut:
    """The member keeps their account and loses the staff role at once; revoking twice answers the same."""
    if not re.fullmatch(ID_PATTERN, member_id):
        raise NotFound(f"member {member_id} not found")
    try:
        was = staff.revoke(member_id)
    except staff.MemberNotFound:
        raise NotFound(f"member {member_id} not found") from None
    except staff.Busy:
        raise RateLimited("the staff assignment is being changed; retry", headers={"Retry-After": "1"}) from None
    on_access_revoked(member_id)
    return StaffRevokedOut(member_id=member_id,
                           revoked_store_ids=[str(s) for s in (was.store_ids if was is not None else [])])


def list_staff(store_id: str | None, limit: int, cursor: str | None) -> StaffList:
    key = decode_cursor(cursor)
    expected = {"PK", "SK", "GSI1PK", "GSI1SK"} if store_id is None else {"PK", "SK"}
    if key is not None and (set(key) != expected or not all(isinstance(v, str) for v in key.values())
                            or (store_id is None and key.get("GSI1PK") != staff.STAFF_PARTITION)
                            or (store_id is not None and key.get("PK") != staff.store_staff_pk(store_id))):
        raise ValidationFailed("cursor is not valid", details=[{"field": "cursor", "issue": "invalid"}])
    found, last = staff.list_all(limit, key) if store_id is None else staff.list_of_store(store_id, limit, key)
    return StaffList(items=[StaffMemberOut(member_id=s.member_id, role=s.role, store_ids=[str(x) for x in s.store_ids],
                                           updated_at=s.updated_at) for s in found], next=encode_cursor(last))


def on_member_erased(member_id: str) -> None:
    """Erasure (services/privacy.py): the staff role and the store links go too, and the revocation hook runs."""
    try:
        if staff.get_staff(member_id) is not None:
            staff.revoke(member_id)
    except staff.MemberNotFound:
        pass  # the profile is already gone: nothing left to act with
    on_access_revoked(member_id)
