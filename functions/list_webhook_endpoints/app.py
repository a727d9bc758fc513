"""GET /admin/webhook-endpoints: every outbound webhook endpoint, with its status (paused, and why)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.webhooks import WebhookEndpointList
from storeloop.services import webhooks

app = make_app()


@app.get("/admin/webhook-endpoints", summary="Outbound webhook endpoints", tags=["webhooks"])
def list_webhook_endpoints(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> WebhookEndpointList:
    require_admin(current_caller(app))
    return webhooks.list_endpoints(limit, cursor)


lambda_handler = lambda_handler_for(app)
