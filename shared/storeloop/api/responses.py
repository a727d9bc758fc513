"""What each operation answers besides its success: the one place the OpenAPI document's error responses come from.

`local/openapi.py` declares for every operation, from what it can see of the route:

- 400 `VALIDATION_FAILED` when it takes parameters or a body; 413 `PAYLOAD_TOO_LARGE` and 415
  `UNSUPPORTED_MEDIA_TYPE` when it takes a body;
- 401 `UNAUTHENTICATED` and 403 `FORBIDDEN` (or `NOT_STORE_STAFF`) behind the authorizer;
- 404 `NOT_FOUND` when it has path parameters (or is listed in NOT_FOUND below: an id in the body);
- 409 `IDEMPOTENCY_KEY_REUSED` / `IDEMPOTENCY_IN_PROGRESS` when it takes `Idempotency-Key`, plus CONFLICTS below;
- 429 `RATE_LIMITED` with `Retry-After` everywhere (API Gateway throttles any route; guess limits and busy items
  answer it too); 503 `UPSTREAM_UNAVAILABLE` for the operations in UPSTREAM.

A new route gets all of that for free. Add its business 409 codes to CONFLICTS, an id it reads from the body to
NOT_FOUND, a WeChat (or other provider) call to UPSTREAM, and a webhook's body and headers to WEBHOOKS.
Keys are "METHOD /path" as template.yaml spells them.
"""

from __future__ import annotations

from typing import Any

STATUS_CODES: dict[int, tuple[str, ...]] = {
    400: ("VALIDATION_FAILED",),
    401: ("UNAUTHENTICATED",),
    403: ("FORBIDDEN",),
    404: ("NOT_FOUND",),
    409: (),
    413: ("PAYLOAD_TOO_LARGE",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
    429: ("RATE_LIMITED",),
    503: ("UPSTREAM_UNAVAILABLE",),
}

DESCRIPTIONS: dict[int, str] = {
    400: "the request is not valid (`details` says what)",
    401: "no token, or a token that is not valid (webhooks: a signature that is not valid)",
    403: "the caller's role or stores do not allow this",
    404: "what the request names does not exist",
    409: "a business conflict",
    413: "the body is larger than 64 KiB",
    415: "the body is not application/json (UTF-8)",
    429: "too many requests, or too many failed guesses: retry after `Retry-After` seconds",
    503: "a provider (WeChat) is unavailable: retry later",
}

IDEMPOTENCY_CODES = ("IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS")

CONFLICTS: dict[str, tuple[str, ...]] = {
    "POST /admin/stores": ("STORE_EXISTS",),
    "POST /admin/products": ("PRODUCT_EXISTS",),
    "POST /admin/campaigns/{campaign_id}/publish": ("CAMPAIGN_CANCELLED", "CAMPAIGN_ENDED"),
    "POST /admin/campaigns/{campaign_id}/cancel": ("CAMPAIGN_ENDED",),
    "POST /campaigns/{campaign_id}/claims": ("CAMPAIGN_NOT_LIVE", "SOLD_OUT", "CLAIM_LIMIT_REACHED"),
    "POST /verifications": ("COUPON_ALREADY_REDEEMED", "COUPON_EXPIRED", "COUPON_NOT_YET_VALID",
                           "COUPON_NOT_VALID_HERE", "MIN_SPEND_NOT_MET", "QR_EXPIRED", "COUPON_BUSY"),
    "POST /verifications/{verification_id}/reversal": ("ALREADY_REVERSED", "REVERSAL_WINDOW_CLOSED",
                                                       "COUPON_NOT_REDEEMED"),
    "POST /appointments": ("SLOT_FULL", "ALREADY_BOOKED", "COUPON_ALREADY_REDEEMED", "COUPON_EXPIRED"),
    "DELETE /appointments/{appointment_id}": ("APPOINTMENT_NOT_ACTIVE",),
    "POST /appointments/{appointment_id}/check-in": ("APPOINTMENT_NOT_ACTIVE",),
    "POST /orders": ("OUT_OF_STOCK", "INSUFFICIENT_POINTS", "COUPON_ALREADY_REDEEMED", "COUPON_EXPIRED",
                     "COUPON_NOT_YET_VALID", "COUPON_NOT_VALID_HERE", "MIN_SPEND_NOT_MET"),
    "POST /orders/{order_id}/cancel": ("ORDER_NOT_PENDING",),
    "POST /orders/{order_id}/pickup": ("ORDER_NOT_PAID", "PICKUP_CODE_MISMATCH"),
    "POST /orders/{order_id}/refund": ("ALREADY_REFUNDED", "ORDER_NOT_REFUNDABLE"),
    "POST /webhooks/pos/{store_id}": ("IDEMPOTENCY_IN_PROGRESS", "MEMBER_CODE_EXPIRED"),
    # after the merges (issues 8, 9, 15): the routes' business conflicts
    "POST /auth/console-scenes/{scene}/approve": ("TICKET_NOT_PENDING",),
    "POST /me/coupons/exchange": ("CODE_ALREADY_USED", "CODE_BUSY", "SOLD_OUT", "CLAIM_LIMIT_REACHED",
                                  "DAILY_LIMIT_REACHED"),
    "POST /orders/preview": ("COUPON_NOT_APPLICABLE",),
    "POST /webhooks/pos/{store_id}/returns": ("RETURN_EXCEEDS_SALE", "IDEMPOTENCY_IN_PROGRESS",
                                              "IDEMPOTENCY_KEY_REUSED"),
    "POST /webhooks/pos/{store_id}/stock": ("IDEMPOTENCY_KEY_REUSED",),
}

# Other statuses an operation answers that the rules above cannot see.
EXTRA: dict[str, dict[int, tuple[str, ...]]] = {
    "POST /auth/login": {401: ("WECHAT_LOGIN_FAILED",)},
    "POST /verifications": {403: ("NOT_STORE_STAFF",), 404: ("COUPON_NOT_FOUND",)},
    "POST /webhooks/pos/{store_id}/returns": {401: ("UNAUTHENTICATED",), 404: ("SALE_NOT_FOUND",)},
    "POST /webhooks/pos/{store_id}/stock": {401: ("UNAUTHENTICATED",)},
}

# Operations without a path id that still answer 404: an id in the body names nothing.
NOT_FOUND: frozenset[str] = frozenset({
    "POST /verifications", "POST /appointments", "POST /orders", "POST /admin/staff", "POST /admin/campaigns",
    "POST /admin/products", "POST /admin/coupon-templates",
    "POST /me/coupons/exchange", "POST /orders/preview",
})

UPSTREAM: frozenset[str] = frozenset({
    "POST /auth/login", "POST /orders", "POST /orders/{order_id}/refund",
})

# Webhooks: their bodies are read raw (signatures are over the exact bytes), so their handlers take no body
# parameter; the document still says what is sent.
_POS_HEADERS = [
    {"name": "X-StoreLoop-Timestamp", "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
     "description": "unix seconds; within 300 s of the server's clock"},
    {"name": "X-StoreLoop-Signature", "in": "header", "required": True,
     "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
     "description": "hex HMAC-SHA256(store's POS secret, \"<timestamp>.<raw body>\")"},
]
_WECHATPAY_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string", "maxLength": 1024},
     "description": description}
    for name, description in (
        ("Wechatpay-Timestamp", "unix seconds; within 300 s"),
        ("Wechatpay-Nonce", "a random string"),
        ("Wechatpay-Signature", "base64 RSA-SHA256 over \"<timestamp>\\n<nonce>\\n<body>\\n\" with the platform key"),
        ("Wechatpay-Serial", "the platform key's serial (PUB_KEY_ID_… or a certificate serial); must be trusted"),
    )
]
WECHATPAY_NOTIFICATION: dict[str, Any] = {
    "type": "object",
    "required": ["id", "create_time", "event_type", "resource_type", "resource"],
    "properties": {
        "id": {"type": "string"},
        "create_time": {"type": "string", "format": "date-time"},
        "event_type": {"type": "string", "examples": ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]},
        "resource_type": {"type": "string", "examples": ["encrypt-resource"]},
        "summary": {"type": "string"},
        "resource": {
            "type": "object",
            "required": ["algorithm", "ciphertext", "nonce"],
            "properties": {
                "algorithm": {"type": "string", "examples": ["AEAD_AES_256_GCM"]},
                "ciphertext": {"type": "string"},
                "nonce": {"type": "string"},
                "associated_data": {"type": "string"},
                "original_type": {"type": "string"},
            },
        },
    },
}
WECHATPAY_FAIL: dict[str, Any] = {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}},
}

WEBHOOKS: dict[str, dict[str, Any]] = {
    "POST /webhooks/pos/{store_id}": {"headers": _POS_HEADERS, "body_model": "PosSaleRequest"},
    "POST /webhooks/pos/{store_id}/returns": {"headers": _POS_HEADERS, "body_schema": {"type": "object"}},
    "POST /webhooks/pos/{store_id}/stock": {"headers": _POS_HEADERS, "body_schema": {"type": "object"}},
    "POST /webhooks/wechatpay": {"headers": _WECHATPAY_HEADERS, "body_schema": WECHATPAY_NOTIFICATION,
                                 "fail_schema": WECHATPAY_FAIL},
}
