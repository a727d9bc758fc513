"""POST /admin/campaigns/{campaign_id}/pause and /resume: claims refused at once while paused."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaigns import CampaignStatusOut
from storeloop.services import campaign_admin

app = make_app()


@app.post("/admin/campaigns/<campaign_id>/pause", summary="Pause a live campaign", tags=["campaigns"])
def pause_campaign(campaign_id: str) -> CampaignStatusOut:
    require_admin(current_caller(app))
    return campaign_admin.pause_campaign(campaign_id)


@app.post("/admin/campaigns/<campaign_id>/resume", summary="Resume a paused campaign", tags=["campaigns"])
def resume_campaign(campaign_id: str) -> CampaignStatusOut:
    require_admin(current_caller(app))
    return campaign_admin.resume_campaign(campaign_id)


lambda_handler = lambda_handler_for(app)
