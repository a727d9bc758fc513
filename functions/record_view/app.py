"""POST /campaigns/{campaign_id}/views: one exposure of a campaign, with its source (issue 9). 202: counted later."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.sources import ViewOut, ViewRequest
from storeloop.services import sources

app = make_app()


@app.post("/campaigns/<campaign_id>/views", summary="Record an exposure", tags=["sources"],
          responses={202: {"description": "accepted; the stream consumer counts it"}})
def record_view(campaign_id: str, body: ViewRequest) -> tuple[ViewOut, int]:
    caller = current_caller(app)
    out = sources.record_view(caller, campaign_id, body)
    return out, 202


lambda_handler = lambda_handler_for(app)
