"""POST /webhooks/wechatpay: WeChat Pay's payment and refund notifications (no token: the signature is the auth).

Answers as WeChat Pay expects, not with the API's envelope: 200 with an empty body when handled or already
handled; 401 {"code": "FAIL", "message"} when the signature is bad or stale, and nothing changes.
"""

import json

from aws_lambda_powertools.event_handler import Response

from storeloop.api import lambda_handler_for, make_app
from storeloop.services import order_notifications
from storeloop.services.payments import NotificationRejected
from storeloop.settings import get_settings

app = make_app()


@app.post("/webhooks/wechatpay", summary="WeChat Pay notifications", tags=["webhooks"], include_in_schema=True)
def wechatpay_webhook():  # noqa: ANN201 - a Response, which validation cannot describe
    event = app.current_event
    body = event.decoded_body if event.is_base64_encoded else (event.body or "")
    try:
        order_notifications.handle_pay_notification(get_settings(), dict(event.headers or {}), body or "")
    except NotificationRejected as exc:
        return Response(401, "application/json", json.dumps({"code": "FAIL", "message": exc.reason}))
    return Response(200, None, "")


lambda_handler = lambda_handler_for(app)
