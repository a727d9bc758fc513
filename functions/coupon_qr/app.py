"""GET /me/coupons/{coupon_id}/qr: a signed token naming the caller's coupon, valid about 60 s, for the scanner."""

from storeloop import tokens  # noqa: F401 - load the signer at cold start, not on the first scan
from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.coupons import QrOut
from storeloop.services import coupons
from storeloop.settings import get_settings

app = make_app()


@app.get("/me/coupons/<coupon_id>/qr", summary="A coupon's QR token", tags=["coupons"])
def coupon_qr(coupon_id: str) -> QrOut:
    return coupons.coupon_qr(get_settings(), current_caller(app), coupon_id)


lambda_handler = lambda_handler_for(app)
