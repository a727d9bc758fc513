"""GET /admin/journeys/{journey_id}: a journey with its counters (entered, actions done, converted)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.journeys import JourneyOut
from storeloop.services import journeys

app = make_app()


@app.get("/admin/journeys/<journey_id>", summary="A journey and its counters", tags=["journeys"])
def get_journey(journey_id: str) -> JourneyOut:
    require_admin(current_caller(app))
    return journeys.get_journey(journey_id)


lambda_handler = lambda_handler_for(app)
