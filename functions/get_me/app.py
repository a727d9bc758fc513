"""GET /me: the caller's membership, tier, points, lifetime spend and consent."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.members import MeOut
from storeloop.services import members
from storeloop.settings import get_settings

app = make_app()


@app.get("/me", summary="Me: membership, tier and points", tags=["members"])
def get_me() -> MeOut:
    return members.me(get_settings(), current_caller(app))


lambda_handler = lambda_handler_for(app)
