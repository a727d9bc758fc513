"""POST /appointments: a member books a visit in one of a store's slots (one place, once per member and slot)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.appointments import AppointmentOut, BookAppointmentRequest
from storeloop.services import appointments

app = make_app()


@app.post("/appointments", summary="Book a visit", tags=["visits"], responses={201: {"description": "booked"}})
def book_appointment(
    body: BookAppointmentRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[AppointmentOut, int]:
    caller = current_caller(app)
    return idempotent_request("book_appointment", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(appointments.book_appointment(caller, body)))


lambda_handler = lambda_handler_for(app)
