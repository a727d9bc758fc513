"""GET /campaigns: the live campaigns, each with its coupon templates and their remaining stock."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.campaigns import CampaignList
from storeloop.services import campaigns

app = make_app()


@app.get("/campaigns", summary="Live campaigns", tags=["campaigns"])
def list_campaigns(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CampaignList:
    caller = current_caller(app)
    return campaigns.list_live_campaigns(limit, cursor, caller)


lambda_handler = lambda_handler_for(app)
