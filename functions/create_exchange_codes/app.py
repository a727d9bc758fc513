"""POST /admin/coupon-templates/{template_id}/exchange-codes: a batch of up to 10,000 codes (issue 9)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.exchange_codes import ExchangeBatchOut, ExchangeBatchRequest
from storeloop.services import exchange_codes

app = make_app()


@app.post("/admin/coupon-templates/<template_id>/exchange-codes", summary="Make exchange codes", tags=["coupons"],
          responses={201: {"description": "the codes, shown once (stored hashed)"}})
def create_exchange_codes(
    template_id: str,
    body: ExchangeBatchRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ExchangeBatchOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_exchange_codes", caller.member_id, idempotency_key,
                              {"template_id": template_id, **body.model_dump(mode="json")},
                              lambda: created(exchange_codes.create_batch(caller, template_id, body)))


lambda_handler = lambda_handler_for(app)
