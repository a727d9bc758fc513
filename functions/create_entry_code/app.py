"""POST /admin/campaigns/{campaign_id}/entry-codes: a campaign's mini-program code per channel and store (issue 9)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.sources import EntryCodeOut, EntryCodeRequest
from storeloop.services import sources

app = make_app()


@app.post("/admin/campaigns/<campaign_id>/entry-codes", summary="A campaign's entry code for a source",
          tags=["sources"], responses={201: {"description": "made once per channel, store and ref, then kept"}})
def create_entry_code(
    campaign_id: str,
    body: EntryCodeRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[EntryCodeOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_entry_code", caller.member_id, idempotency_key,
                              {"campaign_id": campaign_id, **body.model_dump(mode="json")},
                              lambda: created(sources.create_entry_code(campaign_id, body)))


lambda_handler = lambda_handler_for(app)
