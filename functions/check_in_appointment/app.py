"""POST /appointments/{appointment_id}/check-in: staff of the visit's store check the shopper in."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_staff_of
from storeloop.schemas.appointments import AppointmentOut
from storeloop.services import appointments

app = make_app()


@app.post("/appointments/<appointment_id>/check-in", summary="Check a visit in", tags=["visits"])
def check_in_appointment(appointment_id: str) -> AppointmentOut:
    caller = current_caller(app)
    require_staff_of(caller, appointments.store_of_appointment(appointment_id))
    return appointments.check_in_appointment(caller, appointment_id)


lambda_handler = lambda_handler_for(app)
