"""POST /admin/coupon-templates: HQ defines a coupon (terms, stock, per-member limit, validity, channels, stores)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.coupons import CouponTemplateOut, CreateCouponTemplateRequest
from storeloop.services import coupons

app = make_app()


@app.post("/admin/coupon-templates", summary="Create a coupon template", tags=["coupons"],
          responses={201: {"description": "created, with its stock split into shards"}})
def create_coupon_template(
    body: CreateCouponTemplateRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[CouponTemplateOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_coupon_template", caller.member_id, idempotency_key,
                              body.model_dump(mode="json"), lambda: created(coupons.create_template(caller, body)))


lambda_handler = lambda_handler_for(app)
