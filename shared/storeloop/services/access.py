"""Who may act as staff: assigning and revoking the role, the staff lists, and the hook every revocation calls.

The member's staff access is kept on the profile the authorizer reads on every request (data/staff.py,
data/access.py), so an assignment or a revocation is in force from the member's very next request, whatever
tokens were issued before. `on_access_revoked` is the one place a revocation or an erasure announces itself: with
API Gateway's authorizer cache on (a later issue), it is where the stage's authorizer cache is flushed.
"""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger

from storeloop import aws
from storeloop.data import staff
from storeloop.errors import NotFound, RateLimited, ValidationFailed
from storeloop.schemas.staff import StaffList, StaffMemberOut, StaffRevokedOut
from storeloop.schemas.stores import ID_PATTERN

logger = Logger(service="storeloop")


def on_access_revoked(member_id: str) -> None:
    """Called after a member's staff access changed or was revoked, or the member erased: their tokens must act
    with the new access from the next request.

    API Gateway caches the authorizer's answer per token (ReauthorizeEvery, template.yaml), so a token already
    seen would keep its old roles until the entry expires: flush the stage's cache (FlushStageAuthorizersCache).
    It is keyed by token, not member, so the whole stage is flushed: every caller's next request runs the
    authorizer once more (docs/capacity.md, "The authorizer cache"). It is a control-plane call with a low rate
    limit: the AWS client retries it (standard mode, throttling included), and we do not loop. If it still fails, the
    revocation stands in the table and the old entries expire within the TTL; a metric and an error log say so.
    """
    logger.info("access revoked", extra={"member_id": member_id})
    flush_authorizer_cache()


def flush_authorizer_cache() -> bool:
    """Flush the authorizer cache of the stage serving this request; False when there is none or it failed."""
    from storeloop.runtime import request_stage

    stage = request_stage.get()
    if stage is None:
        return False  # not behind API Gateway (a task, a test calling the service): nothing is cached for it
    api_id, stage_name = stage
    try:
        aws.flush_authorizer_cache(api_id, stage_name)
    except Exception as exc:  # noqa: BLE001 - the revocation itself has happened; the TTL bounds the rest
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        logger.error("authorizer cache not flushed: revoked tokens keep their access until the cache expires",
                     extra={"error": type(exc).__name__})
        with single_metric(name="AuthorizerCacheFlushFailed", unit=MetricUnit.Count, value=1,
                           namespace="StoreLoop"):
            pass
        return False
    return True


def assign_staff(member_id: str, role: str, store_ids: list[str]) -> None:
    try:
        staff.assign(member_id, role, store_ids)
        flush_authorizer_cache()  # a store taken away is a revocation too; tokens seen before act anew
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
    found, after = staff.list_all(limit, cursor) if store_id is None else staff.list_of_store(store_id, limit, cursor)
    return StaffList(items=[StaffMemberOut(member_id=s.member_id, role=s.role, store_ids=[str(x) for x in s.store_ids],
                                           updated_at=s.updated_at) for s in found], next=after)


def on_member_erased(member_id: str) -> None:
    """Erasure (services/privacy.py): the staff role and the store links go too, and the revocation hook runs."""
    try:
        if staff.get_staff(member_id) is not None:
            staff.revoke(member_id)
    except staff.MemberNotFound:
        pass  # the profile is already gone: nothing left to act with
    on_access_revoked(member_id)
