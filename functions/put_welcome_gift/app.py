"""PUT /admin/welcome-gift: the template a new member gets one coupon of, once (issue 9); null: none."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.welcome import WelcomeGiftOut, WelcomeGiftRequest
from storeloop.services import member_events

app = make_app()


@app.put("/admin/welcome-gift", summary="Set the welcome gift", tags=["coupons"])
def put_welcome_gift(body: WelcomeGiftRequest) -> WelcomeGiftOut:
    caller = require_admin(current_caller(app))
    return member_events.put_welcome_gift(caller.member_id, body)


lambda_handler = lambda_handler_for(app)
