"""GET /group-buys/{group_buy_id}: one group buy offer."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.group_buys import GroupBuyOut
from storeloop.services import group_buys

app = make_app()


@app.get("/group-buys/<group_buy_id>", summary="One group buy", tags=["campaign kinds"])
def get_group_buy(group_buy_id: str) -> GroupBuyOut:
    current_caller(app)
    return group_buys.get_group_buy(group_buy_id)


lambda_handler = lambda_handler_for(app)
