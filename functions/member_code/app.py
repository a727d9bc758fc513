"""GET /me/member-code: a short-lived signed code for the POS to scan, naming the caller."""

from storeloop.api import current_caller, lambda_handler_for, make_app
from storeloop.schemas.members import MemberCodeOut
from storeloop.services import members
from storeloop.settings import get_settings

app = make_app()


@app.get("/me/member-code", summary="My member code for the till", tags=["members"])
def member_code() -> MemberCodeOut:
    return members.member_code(get_settings(), current_caller(app))


lambda_handler = lambda_handler_for(app)
