"""POST /admin/group-buys: an admin offers a product at a group price (拼团)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.group_buys import CreateGroupBuyRequest, GroupBuyOut
from storeloop.services import group_buys

app = make_app()


@app.post("/admin/group-buys", summary="Create a group buy", tags=["campaign kinds"],
          responses={201: {"description": "created"}})
def create_group_buy(
    body: CreateGroupBuyRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[GroupBuyOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_group_buy", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(group_buys.create_group_buy(caller, body)))


lambda_handler = lambda_handler_for(app)
