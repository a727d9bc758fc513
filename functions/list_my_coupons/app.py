"""GET /me/coupons?status=: the caller's coupons, newest first (an active coupon past its end reads expired)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.coupons import CouponList, CouponStatus
from storeloop.services import coupons

app = make_app()


@app.get("/me/coupons", summary="My coupons", tags=["coupons"])
def list_my_coupons(
    status: Annotated[CouponStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CouponList:
    return coupons.my_coupons(current_caller(app), status, limit, cursor)


lambda_handler = lambda_handler_for(app)
