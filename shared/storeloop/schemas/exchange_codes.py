"""Issue 9, exchange codes: a batch's request and answer, and a shopper's exchange."""

from __future__ import annotations

from pydantic import Field, StrictInt

from storeloop.domain.exchange_codes import MAX_BATCH
from storeloop.schemas import Model, RequestModel
from storeloop.schemas.coupons import CouponOut


class ExchangeBatchRequest(RequestModel):
    count: StrictInt = Field(ge=1, le=MAX_BATCH)


class ExchangeBatchOut(Model):
    batch_id: str
    template_id: str
    count: int
    codes: list[str] = Field(description="16 characters each; shown once, stored only as keyed hashes")


class ExchangeRequest(RequestModel):
    code: str = Field(min_length=1, max_length=40)


class ExchangeOut(Model):
    coupon: CouponOut
