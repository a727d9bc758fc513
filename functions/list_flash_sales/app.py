"""GET /flash-sales and GET /flash-sales/{flash_sale_id}: live and upcoming sales with `remaining`."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.flash_sales import FlashSaleList, FlashSaleOut
from storeloop.services import flash_sales

app = make_app()


@app.get("/flash-sales", summary="Live and upcoming flash sales", tags=["campaign kinds"])
def list_flash_sales(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> FlashSaleList:
    current_caller(app)
    return flash_sales.list_flash_sales(limit, cursor)


@app.get("/flash-sales/<flash_sale_id>", summary="One flash sale", tags=["campaign kinds"])
def get_flash_sale(flash_sale_id: str) -> FlashSaleOut:
    current_caller(app)
    return flash_sales.get_flash_sale(flash_sale_id)


lambda_handler = lambda_handler_for(app)
