"""GET /admin/campaigns?status=: every campaign, newest first, with its templates and remaining stock."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaigns import CampaignList, CampaignStatus
from storeloop.services import campaign_admin

app = make_app()


@app.get("/admin/campaigns", summary="Campaigns by status, newest first", tags=["campaigns"])
def list_campaigns(
    status: Annotated[CampaignStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CampaignList:
    require_admin(current_caller(app))
    return campaign_admin.list_campaigns(status, limit, cursor)


lambda_handler = lambda_handler_for(app)
