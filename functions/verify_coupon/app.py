"""POST /verifications: staff of the store redeem a coupon by its 12-digit code or QR token."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_staff_of
from storeloop.schemas.coupons import VerificationOut, VerifyRequest
from storeloop.services import verification

app = make_app()


@app.post("/verifications", summary="Verify (redeem) a coupon at a store", tags=["verification"],
          responses={201: {"description": "redeemed"}})
def verify_coupon(
    body: VerifyRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[VerificationOut, int]:
    caller = require_staff_of(current_caller(app), body.store_id, code="NOT_STORE_STAFF")
    return idempotent_request("verify_coupon", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(verification.verify_coupon(caller, body)))


lambda_handler = lambda_handler_for(app)
