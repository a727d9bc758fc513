"""POST /admin/stores: an admin opens a store (hours and visit-slot settings included)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.stores import CreateStoreRequest, StoreOut
from storeloop.services import stores

app = make_app()


@app.post("/admin/stores", summary="Create a store", tags=["stores"], responses={201: {"description": "created"}})
def create_store(
    body: CreateStoreRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[StoreOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_store", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(stores.create_store(body)))


lambda_handler = lambda_handler_for(app)
