"""POST /admin/webhook-endpoints/{endpoint_id}/secret: a new signing secret, shown once; the old one signs 24 h more."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.webhooks import WebhookSecretOut
from storeloop.services import webhooks
from storeloop.settings import get_settings

app = make_app()


@app.post("/admin/webhook-endpoints/<endpoint_id>/secret", summary="Rotate an endpoint's secret", tags=["webhooks"])
def rotate_webhook_secret(endpoint_id: str) -> WebhookSecretOut:
    # Not idempotent on purpose (as the POS secret): each call rotates, and a replayed answer would re-show a secret.
    require_admin(current_caller(app))
    return webhooks.rotate_secret(get_settings(), endpoint_id)


lambda_handler = lambda_handler_for(app)
