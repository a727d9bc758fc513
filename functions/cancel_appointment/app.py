"""DELETE /appointments/{appointment_id}: the owner cancels a visit and its place is freed."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.appointments import AppointmentOut
from storeloop.services import appointments

app = make_app()


@app.delete("/appointments/<appointment_id>", summary="Cancel a visit", tags=["visits"])
def cancel_appointment(appointment_id: str) -> AppointmentOut:
    return appointments.cancel_appointment(current_caller(app), appointment_id)


lambda_handler = lambda_handler_for(app)
