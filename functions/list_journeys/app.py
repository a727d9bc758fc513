"""GET /admin/journeys: every journey, newest first, with its counters."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.journeys import JourneyList
from storeloop.services import journeys

app = make_app()


@app.get("/admin/journeys", summary="Journeys", tags=["journeys"])
def list_journeys(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> JourneyList:
    require_admin(current_caller(app))
    return journeys.list_journeys(limit, cursor)


lambda_handler = lambda_handler_for(app)
