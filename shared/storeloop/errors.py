"""The service's error hierarchy; `storeloop.api` maps every one of them to the contract's envelope, once."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    code = "INTERNAL"
    message = "internal error"

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApiError):
    status, code, message = 400, "VALIDATION_FAILED", "request is not valid"


class Unauthenticated(ApiError):
    status, code, message = 401, "UNAUTHENTICATED", "missing or invalid token"


class Forbidden(ApiError):
    status, code, message = 403, "FORBIDDEN", "not allowed for this caller"


class NotFound(ApiError):
    status, code, message = 404, "NOT_FOUND", "not found"


class Conflict(ApiError):
    """A business conflict; `code` names it (SOLD_OUT, SLOT_FULL, ...)."""

    status, code, message = 409, "CONFLICT", "conflict"


class PayloadTooLarge(ApiError):
    status, code, message = 413, "PAYLOAD_TOO_LARGE", "request body too large"


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "UNSUPPORTED_MEDIA_TYPE", "the body must be application/json"


class RateLimited(ApiError):
    status, code, message = 429, "RATE_LIMITED", "too many requests"


class UpstreamUnavailable(ApiError):
    """A provider we depend on (WeChat) could not be reached or answered garbage."""

    status, code, message = 503, "UPSTREAM_UNAVAILABLE", "an upstream service is unavailable, retry later"
