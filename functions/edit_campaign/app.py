"""PATCH /admin/campaigns/{campaign_id}: edit a draft (409 CAMPAIGN_NOT_DRAFT otherwise)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaign_admin import EditCampaignRequest
from storeloop.schemas.campaigns import CampaignOut
from storeloop.services import campaign_admin

app = make_app()


@app.patch("/admin/campaigns/<campaign_id>", summary="Edit a draft campaign", tags=["campaigns"])
def edit_campaign(campaign_id: str, body: EditCampaignRequest) -> CampaignOut:
    require_admin(current_caller(app))
    return campaign_admin.edit_campaign(campaign_id, body)


lambda_handler = lambda_handler_for(app)
