"""POST /campaigns/{campaign_id}/claims: a shopper claims one coupon of a live campaign's template."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.coupons import ClaimOut, ClaimRequest
from storeloop.services import coupons

app = make_app()


@app.post("/campaigns/<campaign_id>/claims", summary="Claim a coupon", tags=["coupons"],
          responses={201: {"description": "claimed"}})
def claim_coupon(
    campaign_id: str,
    body: ClaimRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ClaimOut, int]:
    caller = current_caller(app)
    return idempotent_request("claim_coupon", caller.member_id, idempotency_key,
                              {"campaign_id": campaign_id, **body.model_dump(mode="json")},
                              lambda: created(coupons.claim_coupon(caller, campaign_id, body)))


lambda_handler = lambda_handler_for(app)
