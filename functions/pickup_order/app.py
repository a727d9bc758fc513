"""POST /orders/{order_id}/pickup: staff of the store hand a paid order over against its pickup code."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderOut, PickupRequest
from storeloop.services import orders

app = make_app()


@app.post("/orders/<order_id>/pickup", summary="Hand over a paid order", tags=["orders"])
def pickup_order(order_id: str, body: PickupRequest) -> OrderOut:
    return orders.pickup_order(current_caller(app), order_id, body.pickup_code)


lambda_handler = lambda_handler_for(app)
