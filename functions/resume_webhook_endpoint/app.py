"""POST /admin/webhook-endpoints/{endpoint_id}/resume: deliver again to an endpoint paused after 24 h of failures."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.webhooks import WebhookEndpointOut
from storeloop.services import webhooks

app = make_app()


@app.post("/admin/webhook-endpoints/<endpoint_id>/resume", summary="Resume a paused endpoint", tags=["webhooks"])
def resume_webhook_endpoint(endpoint_id: str) -> WebhookEndpointOut:
    require_admin(current_caller(app))
    return webhooks.resume(endpoint_id)


lambda_handler = lambda_handler_for(app)
