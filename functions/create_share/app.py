"""POST /campaigns/{campaign_id}/shares: the sharer's scene for share-to-claim (issue 9)."""

from storeloop.api import created, current_caller, lambda_handler_for, make_app
from storeloop.schemas.sources import ShareOut
from storeloop.services import sources

app = make_app()


@app.post("/campaigns/<campaign_id>/shares", summary="Share a campaign", tags=["sources"],
          responses={201: {"description": "the sharer's scene, the same every time"}})
def create_share(campaign_id: str) -> tuple[ShareOut, int]:
    caller = current_caller(app)
    return created(sources.create_share(caller, campaign_id))


lambda_handler = lambda_handler_for(app)
