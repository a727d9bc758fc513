"""GET /redemptions/{redemption_id}: one redemption (the member, staff of its store, an admin)."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.rewards import RedemptionOut
from storeloop.services import rewards

app = make_app()


@app.get("/redemptions/<redemption_id>", summary="One redemption", tags=["campaign kinds"])
def get_redemption(redemption_id: str) -> RedemptionOut:
    return rewards.get_redemption(current_caller(app), redemption_id)


lambda_handler = lambda_handler_for(app)
