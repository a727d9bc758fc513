"""POST /admin/journeys: HQ sets up a journey (trigger, optional segment, actions) that brings members back."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.journeys import CreateJourneyRequest, JourneyOut
from storeloop.services import journeys

app = make_app()


@app.post("/admin/journeys", summary="Create a journey", tags=["journeys"],
          responses={201: {"description": "created"}})
def create_journey(
    body: CreateJourneyRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[JourneyOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_journey", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(journeys.create_journey(caller, body)))


lambda_handler = lambda_handler_for(app)
