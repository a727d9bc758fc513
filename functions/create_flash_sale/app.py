"""POST /admin/flash-sales: an admin puts a product on sale at a price for a window, with its own stock (秒杀)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.flash_sales import CreateFlashSaleRequest, FlashSaleOut
from storeloop.services import flash_sales

app = make_app()


@app.post("/admin/flash-sales", summary="Create a flash sale", tags=["campaign kinds"],
          responses={201: {"description": "created"}})
def create_flash_sale(
    body: CreateFlashSaleRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[FlashSaleOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_flash_sale", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(flash_sales.create_flash_sale(caller, body)))


lambda_handler = lambda_handler_for(app)
