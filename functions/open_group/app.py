"""POST /group-buys/{group_buy_id}/groups: a shopper opens a group with their own order at the group price."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.group_buys import OpenGroupRequest, OpenGroupResponse
from storeloop.services import group_buys
from storeloop.settings import get_settings

app = make_app()


@app.post("/group-buys/<group_buy_id>/groups", summary="Open a group", tags=["campaign kinds"],
          responses={201: {"description": "opened, with the leader's order and the wx.requestPayment object"}})
def open_group(
    group_buy_id: str,
    body: OpenGroupRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[OpenGroupResponse, int]:
    caller = current_caller(app)
    return idempotent_request("open_group", caller.member_id, idempotency_key,
                              {"group_buy_id": group_buy_id, **body.model_dump(mode="json")},
                              lambda: created(group_buys.open_group(get_settings(), caller, group_buy_id, body)))


lambda_handler = lambda_handler_for(app)
