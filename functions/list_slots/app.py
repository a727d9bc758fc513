"""GET /stores/{store_id}/slots?date=YYYY-MM-DD: a store day's visit slots with the places left in each."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.appointments import SlotList
from storeloop.services import appointments

app = make_app()


@app.get("/stores/<store_id>/slots", summary="A store day's visit slots", tags=["visits"])
def list_slots(store_id: str, date: Annotated[str, Query(description="YYYY-MM-DD")]) -> SlotList:
    current_caller(app)
    return appointments.list_slots(store_id, date)


lambda_handler = lambda_handler_for(app)
