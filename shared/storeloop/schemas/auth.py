"""Login request and response."""

from pydantic import Field

from storeloop.schemas import Model, RequestModel


class LoginRequest(RequestModel):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")


class LoginResponse(Model):
    token: str
    expires_in: int
    member_id: str
    roles: list[str]
    store_ids: list[str]
