"""POST /admin/rewards: an admin adds a reward to the points mall (积分兑换): a coupon or a gift."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.rewards import CreateRewardRequest, RewardOut
from storeloop.services import rewards

app = make_app()


@app.post("/admin/rewards", summary="Create a reward", tags=["campaign kinds"],
          responses={201: {"description": "created"}})
def create_reward(
    body: CreateRewardRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[RewardOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_reward", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(rewards.create_reward(caller, body)))


lambda_handler = lambda_handler_for(app)
