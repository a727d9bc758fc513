"""Pydantic models at the HTTP edge: request bodies (unknown fields rejected) and response shapes."""

from pydantic import BaseModel, ConfigDict, Field


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str | None = None
    issue: str | None = None
    message: str | None = None


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="UPPER_SNAKE, e.g. VALIDATION_FAILED, RATE_LIMITED, or a 409's business code")
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] | None = Field(default=None, description="for VALIDATION_FAILED: what was wrong")


class ErrorEnvelope(BaseModel):
    """Every error the API answers (but the WeChat Pay webhook's, which answers as WeChat Pay expects)."""

    error: ErrorInfo
