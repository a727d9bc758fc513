"""Login request and response."""

from pydantic import BaseModel, Field

from storeloop.schemas import RequestModel


class LoginRequest(RequestModel):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login()")


class LoginResponse(BaseModel):
    token: str
    expires_in: int
    member_id: str
    roles: list[str]
    store_ids: list[str]
