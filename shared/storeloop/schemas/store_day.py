"""The store's own day: visits with member display data only (no openid, no phone), pickups, verifications."""

from __future__ import annotations

from pydantic import Field

from storeloop.schemas import Model
from storeloop.schemas.orders import OrderOut


class VisitorOut(Model):
    """What a clerk needs to greet a shopper: never an openid, a phone or a name the shopper did not give."""

    member_id: str
    is_member: bool
    tier: str | None = None


class StoreVisitOut(Model):
    appointment_id: str
    slot_start: str
    slot_end: str
    status: str
    coupon_id: str | None = None
    note: str | None = None
    checked_in_at: str | None = None
    member: VisitorOut | None = Field(default=None, description="null for a member who was erased")


class StoreVisitList(Model):
    store_id: str
    date: str
    items: list[StoreVisitOut] = Field(description="in slot order")
    next: str | None = None


class StoreOrderList(Model):
    store_id: str
    items: list[OrderOut] = Field(description="paid orders waiting to be picked up, oldest payment first")
    next: str | None = None


class StoreVerificationOut(Model):
    verification_id: str
    coupon_id: str
    template_id: str
    campaign_id: str
    channel: str
    spend_fen: int | None = None
    discount_fen: int
    verified_at: str
    verified_by: str | None = Field(default=None, description="the staff member (null: a POS sale or online)")
    reversed: bool
    reversed_at: str | None = None


class StoreVerificationList(Model):
    store_id: str
    date: str
    items: list[StoreVerificationOut] = Field(description="latest first")
    next: str | None = None
