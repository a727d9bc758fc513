"""GET /admin/staff?store_id=: the staff of a store, or every staff member."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.staff import StaffList
from storeloop.services import access

app = make_app()


@app.get("/admin/staff", summary="List staff (of a store)", tags=["stores"])
def list_staff(
    store_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> StaffList:
    require_admin(current_caller(app))
    return access.list_staff(store_id, limit, cursor)


lambda_handler = lambda_handler_for(app)
