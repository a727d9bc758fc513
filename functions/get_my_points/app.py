"""GET /me/points: the caller's points ledger, newest first, with the balance."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.members import PointsLedgerOut
from storeloop.services import members

app = make_app()


@app.get("/me/points", summary="My points ledger", tags=["members"])
def get_my_points(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PointsLedgerOut:
    return members.my_points(current_caller(app), limit, cursor)


lambda_handler = lambda_handler_for(app)
