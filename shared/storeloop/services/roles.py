"""Role checks on the caller: 403 when its roles or stores do not fit (handlers call them, and use cases too)."""

from __future__ import annotations

from storeloop.caller import Caller
from storeloop.errors import ApiError, Forbidden


class NotStoreStaff(ApiError):
    status, code, message = 403, "NOT_STORE_STAFF", "caller is not staff of this store"


def require_member(caller: Caller) -> Caller:
    return caller


def require_admin(caller: Caller) -> Caller:
    if not caller.is_admin:
        raise Forbidden("admin role required")
    return caller


def require_staff_of(caller: Caller, store_id: str, *, code: str = "FORBIDDEN") -> Caller:
    """Staff of this store (admins too); `code` lets verification answer NOT_STORE_STAFF as the contract says."""
    if caller.is_admin or caller.is_staff_of(store_id):
        return caller
    if code == "NOT_STORE_STAFF":
        raise NotStoreStaff()
    raise Forbidden("staff of this store required")


def require_manager_of(caller: Caller, store_id: str) -> Caller:
    if caller.is_admin or caller.is_manager_of(store_id):
        return caller
    raise Forbidden("manager of this store required")
