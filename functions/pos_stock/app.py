"""POST /webhooks/pos/{store_id}/stock: a till's absolute stock counts (HMAC-signed with the store's secret)."""

from storeloop.api import lambda_handler_for, make_app
from storeloop.schemas.webhooks import PosStockOut
from storeloop.services import pos_stock
from storeloop.settings import get_settings

app = make_app()


@app.post("/webhooks/pos/<store_id>/stock", summary="A POS stock update", tags=["webhooks"])
def pos_stock_webhook(store_id: str) -> PosStockOut:
    event = app.current_event
    raw = event.decoded_body if event.is_base64_encoded else (event.body or "")
    raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
    return pos_stock.sync_stock(get_settings(), store_id, dict(event.headers or {}), raw_bytes)


lambda_handler = lambda_handler_for(app)
