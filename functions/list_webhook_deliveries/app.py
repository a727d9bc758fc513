"""GET /admin/webhook-endpoints/{endpoint_id}/deliveries: the endpoint's last deliveries, newest first, each attempt."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.webhooks import WebhookDeliveryList
from storeloop.services import webhooks

app = make_app()


@app.get("/admin/webhook-endpoints/<endpoint_id>/deliveries", summary="An endpoint's deliveries", tags=["webhooks"])
def list_webhook_deliveries(
    endpoint_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> WebhookDeliveryList:
    require_admin(current_caller(app))
    return webhooks.deliveries(endpoint_id, limit, cursor)


lambda_handler = lambda_handler_for(app)
