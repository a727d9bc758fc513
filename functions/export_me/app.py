"""GET /me/export: every personal record StoreLoop holds about the caller (PIPL access right)."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_member
from storeloop.schemas.privacy import MemberExport
from storeloop.services import privacy
from storeloop.settings import get_settings

app = make_app()


@app.get("/me/export", summary="Export my personal data", tags=["members"])
def export_me() -> MemberExport:
    return privacy.export_member(get_settings(), require_member(current_caller(app)))


lambda_handler = lambda_handler_for(app)
