"""HTTP glue every function shares: the resolver factory, the error envelope, the caller, pagination, idempotency;
and the role checks handlers call (defined in services/roles.py, which use cases share)."""

from storeloop.api.app import created, current_caller, lambda_handler_for, make_app
from storeloop.api.idempotency import idempotent_request
from storeloop.api.pagination import Page, decode_cursor, encode_cursor
from storeloop.services.roles import require_admin, require_manager_of, require_member, require_staff_of

__all__ = [
    "Page",
    "created",
    "current_caller",
    "decode_cursor",
    "encode_cursor",
    "idempotent_request",
    "lambda_handler_for",
    "make_app",
    "require_admin",
    "require_manager_of",
    "require_member",
    "require_staff_of",
]
