"""POST /rewards/{reward_id}/redemptions: points for a reward, in one transaction."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.rewards import RedeemRequest, RedemptionOut
from storeloop.services import rewards

app = make_app()


@app.post("/rewards/<reward_id>/redemptions", summary="Redeem points for a reward", tags=["campaign kinds"],
          responses={201: {"description": "redeemed: the coupon issued or the gift's pickup code"}})
def redeem_reward(
    reward_id: str,
    body: RedeemRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[RedemptionOut, int]:
    caller = current_caller(app)
    return idempotent_request("redeem_reward", caller.member_id, idempotency_key,
                              {"reward_id": reward_id, **body.model_dump(mode="json")},
                              lambda: created(rewards.redeem(caller, reward_id, body)))


lambda_handler = lambda_handler_for(app)
