"""DELETE /me: erase the caller (PIPL deletion right); orders are kept for accounting, de-personalised."""

from storeloop.api import current_caller, lambda_handler_for, make_app, require_member
from storeloop.schemas.privacy import ErasureOut
from storeloop.services import privacy
from storeloop.settings import get_settings

app = make_app()


@app.delete("/me", summary="Erase me", tags=["members"])
def erase_me() -> ErasureOut:
    return privacy.erase_member(get_settings(), require_member(current_caller(app)))


lambda_handler = lambda_handler_for(app)
