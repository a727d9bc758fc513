"""GET /rewards: the points mall, newest first, with `remaining`."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.rewards import RewardList
from storeloop.services import rewards

app = make_app()


@app.get("/rewards", summary="The points mall", tags=["campaign kinds"])
def list_rewards(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> RewardList:
    current_caller(app)
    return rewards.list_rewards(limit, cursor)


lambda_handler = lambda_handler_for(app)
