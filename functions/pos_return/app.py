"""POST /webhooks/pos/{store_id}/returns: a return at the till (HMAC-signed with the store's secret; no token)."""

from storeloop.api import lambda_handler_for, make_app
from storeloop.schemas.webhooks import PosReturnOut
from storeloop.services import pos_returns
from storeloop.settings import get_settings

app = make_app()


@app.post("/webhooks/pos/<store_id>/returns", summary="A POS return", tags=["webhooks"])
def pos_return_webhook(store_id: str) -> PosReturnOut:
    event = app.current_event
    raw = event.decoded_body if event.is_base64_encoded else (event.body or "")
    raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
    return pos_returns.record_return(get_settings(), store_id, dict(event.headers or {}), raw_bytes)


lambda_handler = lambda_handler_for(app)
