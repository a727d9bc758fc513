"""POST /me/consents: the member's consent under a policy version (history kept; the latest is current)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_member
from storeloop.schemas.privacy import ConsentOut, ConsentRequest
from storeloop.services import consents

app = make_app()


@app.post("/me/consents", summary="Record a consent", tags=["members"], responses={201: {"description": "recorded"}})
def record_consent(
    body: ConsentRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ConsentOut, int]:
    caller = require_member(current_caller(app))
    return idempotent_request("record_consent", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(consents.record_consent(caller, body)))


lambda_handler = lambda_handler_for(app)
