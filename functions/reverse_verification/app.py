"""POST /verifications/{verification_id}/reversal: a manager of the store undoes a verification within 24 h."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import current_caller, idempotent_request, lambda_handler_for, make_app
from storeloop.schemas.coupons import ReversalOut
from storeloop.services import verification

app = make_app()


@app.post("/verifications/<verification_id>/reversal", summary="Reverse a verification", tags=["verification"])
def reverse_verification(
    verification_id: str,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[ReversalOut, int]:
    # The manager check needs the verification's store: the service reads it, then checks.
    caller = current_caller(app)
    return idempotent_request("reverse_verification", caller.member_id, idempotency_key,
                              {"verification_id": verification_id},
                              lambda: (verification.reverse_verification(caller, verification_id)
                                       .model_dump(mode="json"), 200))


lambda_handler = lambda_handler_for(app)
