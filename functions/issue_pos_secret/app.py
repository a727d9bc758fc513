"""POST /admin/stores/{store_id}/pos-secret: a new POS signing secret for a store, shown once, kept encrypted."""

from storeloop.api import created, current_caller, lambda_handler_for, make_app, require_admin
from storeloop.schemas.stores import PosSecretOut
from storeloop.services import stores
from storeloop.settings import get_settings

app = make_app()


@app.post("/admin/stores/<store_id>/pos-secret", summary="Issue a store's POS secret", tags=["stores"],
          responses={201: {"description": "issued"}})
def issue_pos_secret(store_id: str) -> tuple[PosSecretOut, int]:
    # Not idempotent on purpose: each call rotates the secret, and a replayed answer would re-show a secret.
    require_admin(current_caller(app))
    return created(stores.issue_pos_secret(get_settings(), store_id))


lambda_handler = lambda_handler_for(app)
