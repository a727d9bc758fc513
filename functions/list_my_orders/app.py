"""GET /me/orders: the caller's orders, newest first, paginated."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderList
from storeloop.services import orders

app = make_app()


@app.get("/me/orders", summary="My orders", tags=["orders"])
def list_my_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> OrderList:
    return orders.my_orders(current_caller(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
