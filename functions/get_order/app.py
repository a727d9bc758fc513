"""GET /orders/{order_id}: one order, for its shopper, staff of its store, or an admin."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderOut
from storeloop.services import orders

app = make_app()


@app.get("/orders/<order_id>", summary="One order", tags=["orders"])
def get_order(order_id: str) -> OrderOut:
    return orders.get_order(current_caller(app), order_id)


lambda_handler = lambda_handler_for(app)
