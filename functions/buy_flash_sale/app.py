"""POST /flash-sales/{flash_sale_id}/orders: one unit at the sale price, an order paid as any order."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.flash_sales import FlashSaleOrderRequest
from storeloop.schemas.orders import CreateOrderResponse
from storeloop.services import flash_sales
from storeloop.settings import get_settings

app = make_app()


@app.post("/flash-sales/<flash_sale_id>/orders", summary="Buy in a flash sale", tags=["campaign kinds"],
          responses={201: {"description": "created, with the wx.requestPayment object"}})
def buy_flash_sale(
    flash_sale_id: str,
    body: FlashSaleOrderRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[CreateOrderResponse, int]:
    caller = current_caller(app)
    return idempotent_request("buy_flash_sale", caller.member_id, idempotency_key,
                              {"flash_sale_id": flash_sale_id, **body.model_dump(mode="json")},
                              lambda: created(flash_sales.buy(get_settings(), caller, flash_sale_id, body)))


lambda_handler = lambda_handler_for(app)
