"""Pydantic models at the HTTP edge: request bodies (unknown fields rejected) and response shapes."""

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Every edge model's base. `defer_build`: a model's validator and serializer are built at its first use, not
    at import: a function imports a route module's worth of models and uses two, and building them all cost the
    claim function ~70 ms of its cold start (docs/capacity.md)."""

    model_config = ConfigDict(defer_build=True)


class RequestModel(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorBody(Model):
    code: str
    message: str
    request_id: str | None = None


class ErrorDetail(Model):
    model_config = ConfigDict(extra="allow")

    field: str | None = None
    issue: str | None = None
    message: str | None = None


class ErrorInfo(Model):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="UPPER_SNAKE, e.g. VALIDATION_FAILED, RATE_LIMITED, or a 409's business code")
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] | None = Field(default=None, description="for VALIDATION_FAILED: what was wrong")


class ErrorEnvelope(Model):
    """Every error the API answers (but the WeChat Pay webhook's, which answers as WeChat Pay expects)."""

    error: ErrorInfo
