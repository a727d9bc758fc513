"""POST /orders/preview: a cart priced with every coupon the shopper holds, ranked; nothing reserved (issue 9)."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.orders import CreateOrderRequest, PreviewOut
from storeloop.services import order_preview

app = make_app()


@app.post("/orders/preview", summary="Preview an order's price", tags=["orders"])
def preview_order(body: CreateOrderRequest) -> PreviewOut:
    return order_preview.preview_order(current_caller(app), body)


lambda_handler = lambda_handler_for(app)
