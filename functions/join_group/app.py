"""POST /groups/{group_id}/join: a friend joins a forming group with their own order at the group price."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.group_buys import JoinGroupResponse
from storeloop.services import group_buys
from storeloop.settings import get_settings

app = make_app()


@app.post("/groups/<group_id>/join", summary="Join a group", tags=["campaign kinds"],
          responses={201: {"description": "joined, with the order and the wx.requestPayment object"}})
def join_group(
    group_id: str,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[JoinGroupResponse, int]:
    caller = current_caller(app)
    return idempotent_request("join_group", caller.member_id, idempotency_key, {"group_id": group_id},
                              lambda: created(group_buys.join_group(get_settings(), caller, group_id)))


lambda_handler = lambda_handler_for(app)
