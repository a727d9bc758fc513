"""GET /me/appointments: the caller's visits, latest slot first, paginated."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.appointments import AppointmentList
from storeloop.services import appointments

app = make_app()


@app.get("/me/appointments", summary="My visits", tags=["visits"])
def list_my_appointments(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> AppointmentList:
    return appointments.my_appointments(current_caller(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
