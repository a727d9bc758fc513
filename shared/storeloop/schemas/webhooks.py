"""Outbound webhooks and the till's stock and returns: request bodies and response shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt, field_validator

from storeloop.domain.clock import parse_rfc3339
from storeloop.schemas import Model, RequestModel

EventType = Literal["member.joined", "member.updated", "member.erased", "order.paid", "order.refunded",
                    "coupon.redeemed", "pos.sale", "pos.return"]
SKU_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
POS_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class CreateWebhookEndpointRequest(RequestModel):
    url: str = Field(min_length=8, max_length=2048)
    events: list[EventType] = Field(min_length=1, max_length=len(EventType.__args__))  # type: ignore[attr-defined]

    @field_validator("events")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each event type may appear once")
        return v


class WebhookEndpointOut(Model):
    endpoint_id: str
    url: str
    events: list[str]
    status: Literal["active", "paused"]
    failing_since: str | None = None
    last_success_at: str | None = None
    last_error: str | None = None
    paused_at: str | None = None
    paused_reason: str | None = None
    previous_secret_valid_until: str | None = None
    created_at: str


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    secret: str | None = Field(default=None, description="shown once, in the 201; null when the same "
                               "Idempotency-Key and body come again (200)")


class WebhookSecretOut(Model):
    endpoint_id: str
    secret: str = Field(description="shown once; the previous secret keeps signing until previous_valid_until")
    previous_valid_until: str


class WebhookEndpointList(Model):
    items: list[WebhookEndpointOut]
    next: str | None = None


class DeliveryAttemptOut(Model):
    at: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


class WebhookDeliveryOut(Model):
    event_id: str
    type: str
    created_at: str
    status: Literal["pending", "delivered", "retrying", "dead_lettered", "paused"]
    attempts: int
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: str | None = None
    delivered_at: str | None = None
    attempt_log: list[DeliveryAttemptOut]


class WebhookDeliveryList(Model):
    items: list[WebhookDeliveryOut]
    next: str | None = None


# --- the till: stock and returns ---------------------------------------------------------------------


def _rfc3339(v: str) -> str:
    parse_rfc3339(v)
    return v


class PosStockRequest(RequestModel):
    update_id: str = Field(pattern=POS_ID_PATTERN)
    sequence: StrictInt = Field(ge=0, le=2**53, description="the till's own order of updates, per store")
    counts: dict[str, StrictInt] = Field(min_length=1, max_length=500, description="sku -> units on hand")
    occurred_at: str

    @field_validator("occurred_at")
    @classmethod
    def _at(cls, v: str) -> str:
        return _rfc3339(v)

    @field_validator("counts")
    @classmethod
    def _counts(cls, v: dict[str, int]) -> dict[str, int]:
        import re

        for sku, n in v.items():
            if not re.fullmatch(SKU_PATTERN, sku):
                raise ValueError(f"sku {sku!r} is not valid")
            if n < 0 or n > 10_000_000:
                raise ValueError(f"count of {sku} must be 0-10000000")
        return v


class PosStockOut(Model):
    applied: list[str]
    stale: list[str]
    unknown: list[str] = Field(default_factory=list, description="skus this store does not sell (nothing changed)")


class PosReturnItem(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    qty: StrictInt = Field(ge=1, le=10_000)
    price_fen: StrictInt = Field(ge=0, le=100_000_000)


class PosReturnRequest(RequestModel):
    return_id: str = Field(pattern=POS_ID_PATTERN)
    sale_id: str = Field(pattern=POS_ID_PATTERN)
    items: list[PosReturnItem] = Field(default_factory=list, max_length=200)
    total_fen: StrictInt = Field(ge=1, le=1_000_000_000)
    occurred_at: str

    @field_validator("occurred_at")
    @classmethod
    def _at(cls, v: str) -> str:
        return _rfc3339(v)


class PosReturnOut(Model):
    return_id: str
    sale_id: str
    member_id: str | None = None
    points_clawed_back: int
    points_shortfall: int = 0
    coupons_returned: list[str]


def jsonable(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
