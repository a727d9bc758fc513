"""The resolver factory: one APIGatewayRestResolver per function, with every error mapped once to the envelope."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.json_encoder import Encoder

from storeloop.api.body import prepare_body
from storeloop.caller import Caller
from storeloop.domain.errors import DomainError
from storeloop.errors import ApiError, Forbidden, Unauthenticated
from storeloop.runtime import bootstrap, lambda_context, request_stage

logger = Logger(service="storeloop")
metrics = Metrics(namespace="StoreLoop", service="storeloop")

# Most requests publish no business metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")


# A response body as its model dumps it to JSON. A route answering with a status says what the body is in its return
# annotation, `tuple[Model, int]`: Powertools validates the body against Model at run time (and documents it).
JsonBody = Any


def error_response(status: int, code: str, message: str, request_id: str | None, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        error["details"] = details
    return Response(status_code=status, content_type="application/json",
                    body=_serialize({"error": error}), headers=headers or {})


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        if err.get("type") == "json_invalid":
            loc = []
        details.append({"field": ".".join(loc) or "body", "issue": err.get("type", "invalid"),
                        "message": err.get("msg", "")})
    return details


def _serialize(value: Any) -> str:
    # UTF-8 on the wire: store names and addresses are Chinese, and \uXXXX triples their size.
    return json.dumps(value, cls=Encoder, ensure_ascii=False, separators=(",", ":"))


def make_app() -> APIGatewayRestResolver:
    """A resolver with validation on and the envelope for every error; settings are checked here, at cold start."""
    bootstrap()
    # A response that fails its own model is our bug: a 500, never a 400 blamed on the client.
    app = APIGatewayRestResolver(enable_validation=True, serializer=_serialize,
                                 response_validation_error_http_code=500)

    def request_id() -> str | None:
        try:
            return app.current_event.request_context.request_id
        except Exception:  # noqa: BLE001 - the envelope must never fail
            return None

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, request_id(), exc.details, exc.headers)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return error_response(exc.status, exc.code, str(exc) or exc.code.lower().replace("_", " "), request_id())

    @app.exception_handler(ResponseValidationError)
    def _bad_response(exc: ResponseValidationError) -> Response:
        logger.error("response failed its model", extra={"errors": str(exc.errors())[:2000]})
        return error_response(500, "INTERNAL", "internal error", request_id())

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", request_id())

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        return error_response(400, "VALIDATION_FAILED", "request is not valid", request_id(),
                              _validation_details(exc.errors()))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Powertools Idempotency's errors, matched by name: importing them would load the idempotency
        # package (and boto3) at cold start in functions that never use it.
        name = type(exc).__name__
        if name == "IdempotencyValidationError":
            return error_response(409, "IDEMPOTENCY_KEY_REUSED",
                                  "this Idempotency-Key was used with another request body", request_id())
        if name == "IdempotencyAlreadyInProgressError":
            return error_response(409, "IDEMPOTENCY_IN_PROGRESS", "a request with this Idempotency-Key is running",
                                  request_id(), headers={"Retry-After": "1"})
        logger.exception("unhandled error")
        return error_response(500, "INTERNAL", "internal error", request_id())

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "NOT_FOUND", "no such route", request_id())

    return app


def current_caller(app: APIGatewayRestResolver) -> Caller:
    """The caller the authorizer vouched for (its context arrives in requestContext.authorizer)."""
    ctx: Any = app.current_event.request_context.authorizer or {}
    raw = dict(ctx) if not hasattr(ctx, "raw_event") else dict(ctx.raw_event)
    member_id = raw.get("member_id")
    if not member_id:
        raise Unauthenticated()
    split = lambda v: tuple(x for x in str(v or "").split(",") if x)  # noqa: E731
    return Caller(member_id=str(member_id), roles=split(raw.get("roles")) or ("member",),
                  store_ids=split(raw.get("store_ids")), staff_role=raw.get("staff_role") or None)


def _reject_early(event: dict) -> dict | None:
    """Answer before validation what needs no route: a body that is too large, not UTF-8, not JSON or not an
    object (`storeloop.api.body`), and /admin/* for non-admins."""
    ctx = event.get("requestContext") or {}
    err: ApiError | None = prepare_body(event)
    if err is None and str(event.get("resource", "")).startswith("/admin/"):
        roles = str((ctx.get("authorizer") or {}).get("roles") or "").split(",")
        if "admin" not in roles:
            err = Forbidden("admin role required")
    if err is None:
        return None
    resp = error_response(err.status, err.code, err.message, ctx.get("requestId"), err.details, err.headers)
    return {"statusCode": resp.status_code, "headers": {"Content-Type": "application/json", **err.headers},
            "body": resp.body, "isBase64Encoded": False}


def lambda_handler_for(app: APIGatewayRestResolver) -> Callable[[dict, Any], dict]:
    """The Lambda entry point around `app.resolve`: correlation id, size limit, idempotency context, metrics."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
    @metrics.log_metrics
    def handler(event: dict, context: Any) -> dict:
        bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
        lambda_context.set(context)
        request = event.get("requestContext") or {}
        request_stage.set((str(request["apiId"]), str(request["stage"]))
                          if request.get("apiId") and request.get("stage") else None)
        rejected = _reject_early(event)
        return rejected if rejected is not None else app.resolve(event, context)

    return handler


def created(model: Any) -> tuple[JsonBody, int]:
    """A 201 with the model as body (the one way handlers answer a creating POST: annotated `-> tuple[Model, int]`)."""
    return (model.model_dump(mode="json") if hasattr(model, "model_dump") else model), 201
