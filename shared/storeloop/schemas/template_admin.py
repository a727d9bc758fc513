"""HQ's coupon templates: the list with live counts, the edit (only the fields API.md names), the restock."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt

from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import MAX_STOCK, Channel, CouponTemplateOut, Id, unique_values

TemplateStatus = Literal["active", "archived"]
EDITABLE = ("name", "per_member_limit", "daily_limit", "channels", "store_ids", "archived")


class ManagedTemplateOut(CouponTemplateOut):
    _omit_if_none: ClassVar[frozenset[str]] = CouponTemplateOut._omit_if_none - {"remaining", "daily_limit"}

    issued: int = Field(description="coupons claimed so far")
    remaining: int | None = None
    daily_limit: int | None = None
    archived: bool = False
    archived_at: str | None = None
    updated_at: str | None = None


class ManagedTemplateList(Model):
    items: list[ManagedTemplateOut]
    next: str | None = None


class EditTemplateRequest(RequestModel):
    """Anything else (kind, amounts, validity, total_stock: restock instead) is refused with 400."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    per_member_limit: StrictInt | None = Field(default=None, ge=1, le=100, description="may only be raised")
    daily_limit: StrictInt | None = Field(default=None, ge=1, le=MAX_STOCK,
                                          description="units a China day across all shoppers; null removes it")
    channels: Annotated[list[Channel], AfterValidator(unique_values)] | None = Field(default=None, min_length=1,
                                                                                    max_length=2)
    store_ids: Annotated[list[Id], AfterValidator(unique_values)] | None = Field(default=None, max_length=500,
                                                                                description="empty: every store")
    archived: StrictBool | None = None


class RestockRequest(RequestModel):
    add: StrictInt = Field(ge=1, le=MAX_STOCK, description="units to add")


class RestockOut(Model):
    template_id: str
    total_stock: int
    remaining: int
    issued: int
