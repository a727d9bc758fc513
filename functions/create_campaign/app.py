"""POST /admin/campaigns: HQ drafts a campaign over coupon templates (publish makes it scheduled or live)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.campaigns import CampaignOut, CreateCampaignRequest
from storeloop.services import campaigns

app = make_app()


@app.post("/admin/campaigns", summary="Create a campaign (draft)", tags=["campaigns"],
          responses={201: {"description": "created as a draft"}})
def create_campaign(
    body: CreateCampaignRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[CampaignOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_campaign", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(campaigns.create_campaign(caller, body)))


lambda_handler = lambda_handler_for(app)
