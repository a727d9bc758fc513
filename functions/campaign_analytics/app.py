"""GET /admin/analytics/campaigns/{campaign_id}: a campaign's funnel, kept current by the stream consumer."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.analytics import CampaignAnalyticsOut
from storeloop.services import analytics_reads

app = make_app()


@app.get("/admin/analytics/campaigns/<campaign_id>", summary="A campaign's funnel", tags=["analytics"])
def campaign_analytics(campaign_id: str) -> CampaignAnalyticsOut:
    require_admin(current_caller(app))
    return analytics_reads.campaign_analytics(campaign_id)


lambda_handler = lambda_handler_for(app)
