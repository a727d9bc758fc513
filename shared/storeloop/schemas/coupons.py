"""Coupon templates, claims, coupons, QR tokens and verifications: request bodies and response shapes."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.sources import SourceIn
from storeloop.schemas.stores import ID_PATTERN
from storeloop.schemas.types import MAX_FEN, BoundedDatetime, ends_after_start

MAX_STOCK = 100_000_000
SKU_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"

CouponKind = Literal["cash_off", "percent_off", "gift"]
Channel = Literal["store", "online"]
CouponStatus = Literal["active", "locked", "redeemed", "expired", "revoked"]


# Strict RFC 3339 with an offset in, years 2000-2100; stored and answered in +08:00, whole seconds.
Rfc3339 = BoundedDatetime
Id = Annotated[str, Field(pattern=ID_PATTERN)]
_ID = re.compile(ID_PATTERN)
Sku = Annotated[str, Field(pattern=SKU_PATTERN)]


def is_id(value: str) -> bool:
    """Whether a path id could name anything: others are 404 without a read (and never an oversized key)."""
    return bool(_ID.match(value))


def unique_values(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return values


class FixedValidity(RequestModel):
    type: Literal["fixed"]
    starts_at: Rfc3339
    ends_at: Rfc3339

    _window = ends_after_start()


class RelativeValidity(RequestModel):
    type: Literal["relative"]
    days: StrictInt = Field(ge=1, le=365, description="valid for this many days (× 24 h) from the claim")


Validity = Annotated[FixedValidity | RelativeValidity, Field(discriminator="type")]

# Which amount fields each kind needs, and which it allows.
_REQUIRED = {"cash_off": {"amount_off_fen"}, "percent_off": {"percent_off"}, "gift": {"gift_sku"}}
_ALLOWED = {"cash_off": {"amount_off_fen"}, "percent_off": {"percent_off", "max_off_fen"}, "gift": {"gift_sku"}}


class CreateCouponTemplateRequest(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    kind: CouponKind
    amount_off_fen: StrictInt | None = Field(default=None, ge=1, le=MAX_FEN, validate_default=True,
                                             description="cash_off: the amount off, in fen")
    percent_off: StrictInt | None = Field(default=None, ge=1, le=99, validate_default=True,
                                          description="percent_off: 1-99")
    max_off_fen: StrictInt | None = Field(default=None, ge=1, le=MAX_FEN, validate_default=True,
                                          description="percent_off: optional cap on the discount, in fen")
    gift_sku: str | None = Field(default=None, pattern=SKU_PATTERN, validate_default=True,
                                 description="gift: the SKU handed over")
    min_spend_fen: StrictInt = Field(default=0, ge=0, le=MAX_FEN)
    total_stock: StrictInt = Field(ge=1, le=MAX_STOCK)
    per_member_limit: StrictInt = Field(default=1, ge=1, le=100)
    validity: Validity
    channels: Annotated[list[Channel], AfterValidator(unique_values)] = Field(default=["store", "online"], min_length=1,
                                                                       max_length=2)
    store_ids: Annotated[list[Id], AfterValidator(unique_values)] = Field(default_factory=list, max_length=500,
                                                                    description="empty: every store")
    # --- issue 9: coupon mechanics
    daily_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_STOCK,
                                          description="units issued per China day across all shoppers")
    skus: Annotated[list[Sku], AfterValidator(unique_values)] | None = Field(
        default=None, min_length=1, max_length=100, description="the coupon applies to these lines only")
    return_on_refund: StrictBool = Field(default=False,
                                         description="a refunded order gives the coupon back if still valid")

    @field_validator("amount_off_fen", "percent_off", "max_off_fen", "gift_sku")
    @classmethod
    def _fits_kind(cls, v: object, info: ValidationInfo) -> object:
        kind = info.data.get("kind")
        if kind is None:  # kind itself was invalid; that error is reported on its own
            return v
        if v is None and info.field_name in _REQUIRED[kind]:
            raise ValueError(f"required for kind {kind}")
        if v is not None and info.field_name not in _ALLOWED[kind]:
            raise ValueError(f"not allowed for kind {kind}")
        return v


class _DropNone(Model):
    """A response that leaves out the optional fields that do not apply (a cash_off coupon has no percent_off)."""

    _omit_if_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_none(self, handler: Any) -> Any:
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None or k not in self._omit_if_none}


_TERMS = frozenset({"amount_off_fen", "percent_off", "max_off_fen", "gift_sku"})


class CouponTemplateOut(_DropNone):
    _omit_if_none: ClassVar[frozenset[str]] = _TERMS | {"remaining", "daily_limit", "skus"}

    template_id: str
    name: str
    kind: CouponKind
    amount_off_fen: int | None = None
    percent_off: int | None = None
    max_off_fen: int | None = None
    gift_sku: str | None = None
    min_spend_fen: int
    total_stock: int
    per_member_limit: int
    validity: dict[str, Any]
    channels: list[str]
    store_ids: list[str]
    remaining: int | None = None
    created_at: str
    daily_limit: int | None = None  # issue 9
    skus: list[str] | None = None
    return_on_refund: bool = False


class CouponOut(_DropNone):
    _omit_if_none: ClassVar[frozenset[str]] = _TERMS | {"redeemed_at", "redeemed_store_id", "skus"}

    coupon_id: str
    template_id: str
    campaign_id: str
    code: str = Field(description="12 digits, for typing at a till")
    status: CouponStatus = Field(description="as of now: an active coupon past valid_until reads expired")
    kind: CouponKind
    amount_off_fen: int | None = None
    percent_off: int | None = None
    max_off_fen: int | None = None
    gift_sku: str | None = None
    min_spend_fen: int
    valid_from: str
    valid_until: str = Field(description="exclusive")
    store_ids: list[str] = Field(description="empty: every store")
    channels: list[str]
    claimed_at: str
    redeemed_at: str | None = None
    redeemed_store_id: str | None = None
    skus: list[str] | None = Field(default=None, description="the lines it applies to (absent: every line)")
    source: dict[str, Any] | None = Field(default=None, description="where the shopper came from")


class ClaimRequest(RequestModel):
    template_id: Id
    # issue 9: where the shopper came from (a source, or the scene of a code they scanned or a share they opened)
    source: SourceIn | None = None
    scene: str | None = Field(default=None, pattern=r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


class ClaimOut(Model):
    coupon: CouponOut


class CouponList(Model):
    items: list[CouponOut]
    next: str | None = None


class QrOut(Model):
    qr: str = Field(description="a signed token naming the coupon, for the staff scanner")
    expires_in: int


class BillLine(RequestModel):
    sku: str = Field(pattern=SKU_PATTERN)
    qty: StrictInt = Field(ge=1, le=10_000)
    price_fen: StrictInt = Field(ge=0, le=MAX_FEN)


class VerifyRequest(RequestModel):
    code: str = Field(min_length=1, max_length=2048, description="the 12-digit code or a QR token")
    store_id: Id
    spend_fen: StrictInt | None = Field(default=None, ge=0, le=MAX_FEN,
                                        description="the bill; required for percent_off and minimum-spend coupons")
    items: list[BillLine] | None = Field(default=None, max_length=200,
                                         description="issue 9: the bill's lines; a coupon scoped to skus then "
                                                     "applies to the spend on its lines")


class VerificationOut(Model):
    verification_id: str
    coupon: CouponOut
    discount_fen: int
    store_id: str
    spend_fen: int | None = None
    verified_at: str


class ReversalOut(Model):
    verification_id: str
    status: Literal["reversed"] = "reversed"
    reversed_at: str
    coupon: CouponOut
