"""POST /auth/login: a wx.login code becomes a StoreLoop session token."""

from storeloop.api import lambda_handler_for, make_app
from storeloop.schemas.auth import LoginRequest, LoginResponse
from storeloop.services import auth
from storeloop.settings import get_settings

app = make_app()


@app.post("/auth/login", summary="Log in with a wx.login code", tags=["auth"])
def login(body: LoginRequest) -> LoginResponse:
    return auth.login(get_settings(), body.code)


lambda_handler = lambda_handler_for(app)
