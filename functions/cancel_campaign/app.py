"""POST /admin/campaigns/{campaign_id}/cancel: claims stop, and the campaign flow stops."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaigns import CampaignStatusOut
from storeloop.services import campaigns

app = make_app()


@app.post("/admin/campaigns/<campaign_id>/cancel", summary="Cancel a campaign", tags=["campaigns"])
def cancel_campaign(campaign_id: str) -> CampaignStatusOut:
    # No Idempotency-Key needed: cancelling a cancelled campaign answers cancelled again and changes nothing.
    require_admin(current_caller(app))
    return campaigns.cancel_campaign(campaign_id)


lambda_handler = lambda_handler_for(app)
