"""POST /me/message-subscriptions: what wx.requestSubscribeMessage returned; each accept is one send."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import current_caller, idempotent_request, lambda_handler_for, make_app, require_member
from storeloop.schemas.messages import SubscribeRequest, SubscribeResponse
from storeloop.services import messages

app = make_app()


@app.post("/me/message-subscriptions", summary="Record subscription-message grants", tags=["members"])
def subscribe_messages(
    body: SubscribeRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> SubscribeResponse:
    # Idempotent with a key: a client retrying after a lost answer must not add the grants twice.
    caller = require_member(current_caller(app))
    payload, _ = idempotent_request("subscribe_messages", caller.member_id, idempotency_key,
                                    body.model_dump(mode="json"),
                                    lambda: (messages.subscribe(caller, body).model_dump(mode="json"), 200))
    return SubscribeResponse.model_validate(payload)


lambda_handler = lambda_handler_for(app)
