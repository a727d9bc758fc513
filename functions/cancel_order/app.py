"""POST /orders/{order_id}/cancel: the shopper cancels an unpaid order; stock, coupon and points are released."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderOut
from storeloop.services import orders

app = make_app()


@app.post("/orders/<order_id>/cancel", summary="Cancel my unpaid order", tags=["orders"])
def cancel_order(order_id: str) -> OrderOut:
    return orders.cancel_order(current_caller(app), order_id)


lambda_handler = lambda_handler_for(app)
