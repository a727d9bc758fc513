"""PATCH /admin/journeys/{journey_id} {"active"}: switch a journey on or off (off: it acts on no one)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.journeys import JourneyOut, UpdateJourneyRequest
from storeloop.services import journeys

app = make_app()


@app.patch("/admin/journeys/<journey_id>", summary="Switch a journey on or off", tags=["journeys"])
def update_journey(journey_id: str, body: UpdateJourneyRequest) -> JourneyOut:
    require_admin(current_caller(app))
    return journeys.update_journey(journey_id, body)


lambda_handler = lambda_handler_for(app)
