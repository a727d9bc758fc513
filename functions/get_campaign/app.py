"""GET /campaigns/{campaign_id}: one campaign with its templates and their remaining stock."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.campaigns import CampaignOut
from storeloop.services import campaigns

app = make_app()


@app.get("/campaigns/<campaign_id>", summary="One campaign", tags=["campaigns"])
def get_campaign(campaign_id: str) -> CampaignOut:
    return campaigns.get_campaign(current_caller(app), campaign_id)


lambda_handler = lambda_handler_for(app)
