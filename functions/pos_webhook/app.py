"""POST /webhooks/pos/{store_id}: a store's till reports a sale (HMAC-signed with the store's secret; no token)."""

from storeloop.api import lambda_handler_for, make_app
from storeloop.schemas.members import PosSaleOut
from storeloop.services import pos
from storeloop.settings import get_settings

app = make_app()


@app.post("/webhooks/pos/<store_id>", summary="A POS sale", tags=["webhooks"])
def pos_webhook(store_id: str) -> PosSaleOut:
    event = app.current_event
    raw = event.decoded_body if event.is_base64_encoded else (event.body or "")
    raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
    return pos.record_sale(get_settings(), store_id, dict(event.headers or {}), raw_bytes)


lambda_handler = lambda_handler_for(app)
