"""HTTP glue every function shares: the resolver factory, the error envelope, the caller, pagination, idempotency."""

from storeloop.api.app import created, current_caller, lambda_handler_for, make_app
from storeloop.api.auth import require_admin, require_manager_of, require_member, require_staff_of
from storeloop.api.idempotency import idempotent_request
from storeloop.api.pagination import Page, decode_cursor, encode_cursor

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
