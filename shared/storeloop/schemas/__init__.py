"""Pydantic models at the HTTP edge: request bodies (unknown fields rejected) and response shapes."""

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None
