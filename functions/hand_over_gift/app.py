"""POST /redemptions/{redemption_id}/pickup: staff of the store hand a gift over against its pickup code."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.rewards import HandOverRequest, RedemptionOut
from storeloop.services import rewards

app = make_app()


@app.post("/redemptions/<redemption_id>/pickup", summary="Hand over a gift", tags=["campaign kinds"])
def hand_over_gift(redemption_id: str, body: HandOverRequest) -> RedemptionOut:
    return rewards.hand_over(current_caller(app), redemption_id, body.pickup_code)


lambda_handler = lambda_handler_for(app)
