"""POST /orders/{order_id}/refund: a manager of the store (or an admin) refunds a paid order through WeChat Pay."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import OrderOut, RefundRequest
from storeloop.services import orders
from storeloop.settings import get_settings

app = make_app()


@app.post("/orders/<order_id>/refund", summary="Refund a paid order", tags=["orders"])
def refund_order(order_id: str, body: RefundRequest) -> OrderOut:
    return orders.refund_order(get_settings(), current_caller(app), order_id, body.reason)


lambda_handler = lambda_handler_for(app)
