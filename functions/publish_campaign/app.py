"""POST /admin/campaigns/{campaign_id}/publish: scheduled or live, and the campaign flow starts."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaigns import CampaignStatusOut
from storeloop.services import campaigns

app = make_app()


@app.post("/admin/campaigns/<campaign_id>/publish", summary="Publish a campaign", tags=["campaigns"])
def publish_campaign(campaign_id: str) -> CampaignStatusOut:
    # No Idempotency-Key needed: publishing a published campaign answers its status again and changes nothing.
    require_admin(current_caller(app))
    return campaigns.publish_campaign(campaign_id)


lambda_handler = lambda_handler_for(app)
