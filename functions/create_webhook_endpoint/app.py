"""POST /admin/webhook-endpoints: HQ registers a URL of the brand's systems for some event types; secret shown once."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.webhooks import CreateWebhookEndpointRequest, WebhookEndpointCreatedOut
from storeloop.services import webhooks
from storeloop.settings import get_settings

app = make_app()


@app.post("/admin/webhook-endpoints", summary="Register an outbound webhook endpoint", tags=["webhooks"],
          responses={201: {"description": "registered; the secret is in this answer only"},
                     200: {"description": "the same Idempotency-Key and body again: the endpoint, without its secret"}})
def create_webhook_endpoint(
    body: CreateWebhookEndpointRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> tuple[WebhookEndpointCreatedOut, int]:
    # Idempotent by the key itself (it fixes the endpoint id), not by a stored answer: that would keep the secret.
    caller = require_admin(current_caller(app))
    endpoint, new = webhooks.register(get_settings(), caller, body, idempotency_key)
    return WebhookEndpointCreatedOut(**endpoint.model_dump()), 201 if new else 200


lambda_handler = lambda_handler_for(app)
