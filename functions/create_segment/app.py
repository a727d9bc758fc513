"""POST /admin/segments: HQ defines who a campaign is for (issue 9)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import created, current_caller, idempotent_request, lambda_handler_for, make_app, require_admin
from storeloop.schemas.segments import CreateSegmentRequest, SegmentOut
from storeloop.services import segments

app = make_app()


@app.post("/admin/segments", summary="Create a segment", tags=["segments"],
          responses={201: {"description": "created; its size is counted by the hourly job"}})
def create_segment(
    body: CreateSegmentRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[SegmentOut, int]:
    caller = require_admin(current_caller(app))
    return idempotent_request("create_segment", caller.member_id, idempotency_key, body.model_dump(mode="json"),
                              lambda: created(segments.create_segment(caller, body)))


lambda_handler = lambda_handler_for(app)
