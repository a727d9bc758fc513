"""Domain exceptions: business-rule conflicts with an API error code, kept free of HTTP and AWS."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A business rule refused the request; `code` is the API.md error code, `status` its HTTP status.

    The resolver of `storeloop/api/app.py` (`make_app`'s exception handler) maps these to the HTTP error envelope;
    nothing here knows about HTTP beyond the number, so the rules stay testable without a request.
    """

    code: ClassVar[str] = "BUSINESS_CONFLICT"
    status: ClassVar[int] = 409
    default_message: ClassVar[str] = "The request conflicts with a business rule."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


# --- coupons: claiming -------------------------------------------------------------------------------


class CampaignNotLive(DomainError):
    code = "CAMPAIGN_NOT_LIVE"
    default_message = "This campaign is not live."


class SoldOut(DomainError):
    code = "SOLD_OUT"
    default_message = "This coupon is sold out."


class ClaimLimitReached(DomainError):
    code = "CLAIM_LIMIT_REACHED"
    default_message = "You already hold as many of this coupon as allowed."


# --- coupons: redeeming ------------------------------------------------------------------------------


class CouponAlreadyRedeemed(DomainError):
    code = "COUPON_ALREADY_REDEEMED"
    default_message = "This coupon has already been redeemed."


class CouponExpired(DomainError):
    code = "COUPON_EXPIRED"
    default_message = "This coupon has expired."


class CouponNotYetValid(DomainError):
    code = "COUPON_NOT_YET_VALID"
    default_message = "This coupon is not valid yet."


class CouponNotValidHere(DomainError):
    code = "COUPON_NOT_VALID_HERE"
    default_message = "This coupon cannot be used at this store or through this channel."


class MinSpendNotMet(DomainError):
    code = "MIN_SPEND_NOT_MET"
    default_message = "The spend is below this coupon's minimum."


class QrExpired(DomainError):
    code = "QR_EXPIRED"
    default_message = "This QR code has expired; refresh it in the mini-program."


class AlreadyReversed(DomainError):
    code = "ALREADY_REVERSED"
    default_message = "This verification has already been reversed."


# --- visits ------------------------------------------------------------------------------------------


class SlotFull(DomainError):
    code = "SLOT_FULL"
    default_message = "This visit slot is full."


class AlreadyBooked(DomainError):
    code = "ALREADY_BOOKED"
    default_message = "You already have a booking for this slot."


# --- orders and points -------------------------------------------------------------------------------


class OutOfStock(DomainError):
    code = "OUT_OF_STOCK"
    default_message = "An item is out of stock at this store."


class InsufficientPoints(DomainError):
    code = "INSUFFICIENT_POINTS"
    default_message = "Not enough points."


# The fourteen errors above, for the tests to check their codes; the mapper (api/app.py) catches every DomainError.
ALL_DOMAIN_ERRORS: tuple[type[DomainError], ...] = (
    CampaignNotLive,
    SoldOut,
    ClaimLimitReached,
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponNotYetValid,
    CouponNotValidHere,
    MinSpendNotMet,
    QrExpired,
    AlreadyReversed,
    SlotFull,
    AlreadyBooked,
    OutOfStock,
    InsufficientPoints,
)


# --- issue 9: sources, audiences, daily limits, sku scope, exchange codes ------------------------------


class DailyLimitReached(DomainError):
    code = "DAILY_LIMIT_REACHED"
    default_message = "Today's coupons of this kind are all given out; try again tomorrow."


class CouponNotApplicable(DomainError):
    code = "COUPON_NOT_APPLICABLE"
    default_message = "This coupon applies to none of these items."


class NotInAudience(DomainError):
    code = "NOT_IN_AUDIENCE"
    default_message = "This campaign is for other shoppers."


class CodeAlreadyUsed(DomainError):
    code = "CODE_ALREADY_USED"
    default_message = "This exchange code has already been used."
