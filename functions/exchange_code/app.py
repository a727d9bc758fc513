"""POST /me/coupons/exchange: a shopper exchanges a code for a coupon, once (issue 9)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.exchange_codes import ExchangeOut, ExchangeRequest
from storeloop.services import exchange_codes

app = make_app()


@app.post("/me/coupons/exchange", summary="Exchange a code for a coupon", tags=["coupons"],
          responses={201: {"description": "the coupon"}})
def exchange_code(
    body: ExchangeRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ExchangeOut, int]:
    caller = current_caller(app)
    return idempotent_request("exchange_code", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(exchange_codes.exchange(caller, body)))


lambda_handler = lambda_handler_for(app)
