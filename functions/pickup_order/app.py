"""POST /orders/{order_id}/pickup: staff of the store hand a paid order over against its pickup code."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderOut, PickupRequest
from storeloop.services import guesses, orders

app = make_app()


@app.post("/orders/<order_id>/pickup", summary="Hand over a paid order", tags=["orders"])
def pickup_order(order_id: str, body: PickupRequest) -> OrderOut:
    caller = current_caller(app)
    # Wrong codes are limited per clerk and per order (429 RATE_LIMITED): 6 digits must not be walked.
    return guesses.guarded("pickup_code", caller.member_id, order_id,
                           lambda: orders.pickup_order(caller, order_id, body.pickup_code))


lambda_handler = lambda_handler_for(app)
