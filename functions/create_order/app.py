"""POST /orders: a pickup order; stock, coupon and points reserved, the payment timer started, WeChat prepaid."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.orders import CreateOrderRequest, CreateOrderResponse
from storeloop.services import orders
from storeloop.settings import get_settings

app = make_app()


@app.post("/orders", summary="Place a pickup order", tags=["orders"],
          responses={201: {"description": "created, with the wx.requestPayment object"}})
def create_order(
    body: CreateOrderRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[CreateOrderResponse, int]:
    caller = current_caller(app)
    return idempotent_request("create_order", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(orders.create_order(get_settings(), caller, body)))


lambda_handler = lambda_handler_for(app)
