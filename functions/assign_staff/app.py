"""POST /admin/staff: make a member a clerk or manager of stores (in force from their next request)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.stores import AssignStaffRequest, StaffOut
from storeloop.services import stores

app = make_app()


@app.post("/admin/staff", summary="Assign staff to stores", tags=["stores"],
          responses={201: {"description": "assigned"}})
def assign_staff(
    body: AssignStaffRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[StaffOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("assign_staff", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(stores.assign_staff(body)))


lambda_handler = lambda_handler_for(app)
