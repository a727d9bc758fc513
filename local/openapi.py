"""The API's OpenAPI document, merged from every function's resolver (each knows only its own routes), with the
error responses every operation really answers declared from one place (`storeloop.api.responses`)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from local.cloud import LocalCloud
from local.stack import ROOT
from storeloop.api import responses as contract
from storeloop.schemas import ErrorEnvelope

OPENAPI_FILE = ROOT / "docs" / "openapi.json"
LOCAL_SERVER = "http://127.0.0.1:3000"
ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
# Powertools' own validation models: its 422 is never sent (storeloop.api maps validation to 400), nor is a
# 500 for bad input.
_POWERTOOLS_ONLY = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                                "schema": {"type": "integer", "minimum": 1}}}
_IDEMPOTENCY_SCHEMA = {"type": "string", "maxLength": 128, "pattern": "^([!-~]([ -~]*[!-~])?)?$",
                       "description": "printable ASCII, at most 128 characters (empty: none); scoped to the caller "
                                      "and the operation"}

_LIST_PARAMS = {"limit": "items per page: 1-100, default 20",
                "cursor": "the `next` of the previous page, as given (opaque; a cursor not issued by the API is 400)"}


def build_openapi(cloud: LocalCloud, server_url: str = LOCAL_SERVER) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "StoreLoop API", "version": "1.0.0",
                 "description": "The HTTP contract of StoreLoop (API.md), generated from the handlers. Errors are "
                                "the ErrorEnvelope; every date the API accepts is in years 2000-2100."},
        "servers": [{"url": server_url, "description": "this stack"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
    authorized = {(r.method.lower(), r.path) for r in cloud.stack.routes if r.authorized}
    schemas: dict[str, Any] = doc["components"]["schemas"]
    for lid in sorted(cloud.stack.functions):
        module = cloud.module_of(lid)
        app = getattr(module, "app", None)
        if app is None or not hasattr(app, "get_openapi_schema"):
            continue
        schema = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, item in (schema.get("paths") or {}).items():
            for method, op in item.items():
                secured = (method, path) in authorized
                if secured:
                    op["security"] = [{"bearer": []}]
                document_operation(op, method, path, secured, schemas)
                doc["paths"].setdefault(path, {})[method] = op
        schemas.update((schema.get("components") or {}).get("schemas") or {})
    _short_operation_ids(doc["paths"])
    _add_model(schemas, ErrorEnvelope)
    for name in _POWERTOOLS_ONLY:
        schemas.pop(name, None)
    doc["paths"] = dict(sorted(doc["paths"].items()))
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def _short_operation_ids(paths: dict[str, Any]) -> None:
    """`verify_coupon` rather than Powertools' `verify_coupon_verifications_post` (the handler's name), when unique:
    generated clients name their functions after these."""
    short: dict[tuple[str, str], str] = {}
    for path, item in paths.items():
        for method, op in item.items():
            suffix = re.sub(r"\W", "_", path) + f"_{method}"
            op_id = str(op.get("operationId") or "")
            if op_id.endswith(suffix) and len(op_id) > len(suffix):
                short[(path, method)] = op_id[: -len(suffix)]
    counts = Counter(short.values())
    for (path, method), name in short.items():
        if counts[name] == 1:
            paths[path][method]["operationId"] = name


def _add_model(schemas: dict[str, Any], model: Any) -> str:
    generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(generated.pop("$defs", {}))
    schemas[model.__name__] = generated
    return f"#/components/schemas/{model.__name__}"


def document_operation(op: dict[str, Any], method: str, path: str, secured: bool, schemas: dict[str, Any]) -> None:
    """Replace Powertools' 422/500 with what this operation answers, and say what its headers and webhooks take."""
    key = f"{method.upper()} {path}"
    webhook = contract.WEBHOOKS.get(key)
    responses: dict[str, Any] = {k: v for k, v in (op.get("responses") or {}).items() if k not in ("422", "500")}
    params: list[dict[str, Any]] = op.get("parameters") or []
    for p in params:
        if p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key":
            p["name"], p["schema"] = "Idempotency-Key", dict(_IDEMPOTENCY_SCHEMA)
            p["description"] = "the same key with the same body returns the first answer"
        elif p.get("in") == "query" and p.get("name") in _LIST_PARAMS:
            p.setdefault("description", _LIST_PARAMS[p["name"]])
    if webhook:
        params.extend(webhook["headers"])
        if "body_model" in webhook:
            from storeloop.schemas import members

            ref = _add_model(schemas, getattr(members, webhook["body_model"]))
            body_schema: dict[str, Any] = {"$ref": ref}
        else:
            body_schema = webhook["body_schema"]
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
        if "fail_schema" in webhook:  # WeChat Pay's webhook answers 200 with an empty body
            responses["200"] = {"description": "handled, or handled before: an empty body"}
    if params:
        op["parameters"] = params
    has_body = "requestBody" in op
    has_path = any(p.get("in") == "path" for p in params)
    idempotent = any(p.get("name") == "Idempotency-Key" for p in params)

    errors: dict[int, list[str]] = {}

    def add(status: int, *codes: str) -> None:
        errors.setdefault(status, [])
        errors[status].extend(c for c in codes if c not in errors[status])

    if params or has_body:
        add(400, *contract.STATUS_CODES[400])
    if has_body:
        add(413, *contract.STATUS_CODES[413])
        if not webhook:
            add(415, *contract.STATUS_CODES[415])
    if secured:
        add(401, *contract.STATUS_CODES[401])
        add(403, *contract.STATUS_CODES[403])
    if webhook:
        add(401, *contract.STATUS_CODES[401])
    if has_path or key in contract.NOT_FOUND:
        add(404, *contract.STATUS_CODES[404])
    if idempotent:
        add(409, *contract.IDEMPOTENCY_CODES)
    if key in contract.CONFLICTS:
        add(409, *contract.CONFLICTS[key])
    for status, codes in contract.EXTRA.get(key, {}).items():
        add(status, *codes)
    add(429, *contract.STATUS_CODES[429])
    if key in contract.UPSTREAM:
        add(503, *contract.STATUS_CODES[503])

    for status in sorted(errors):
        listed = errors[status]
        description = contract.DESCRIPTIONS[status] + (f"; codes: {', '.join(listed)}" if listed else "")
        schema: dict[str, Any] = {"$ref": ENVELOPE_REF}
        if webhook and status == 401 and "fail_schema" in webhook:
            schema = webhook["fail_schema"]  # WeChat Pay's own answer format
        entry: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
        if status == 429 or (status == 409 and "IDEMPOTENCY_IN_PROGRESS" in listed):
            entry["headers"] = dict(_RETRY_AFTER)
        responses[str(status)] = entry
    op["responses"] = dict(sorted(responses.items()))


def write_openapi(cloud: LocalCloud, path: Path = OPENAPI_FILE) -> Path:
    path.write_text(json.dumps(build_openapi(cloud), indent=2, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":  # `make openapi`: rewrite docs/openapi.json from the handlers
    from local.cloud import LocalCloud

    with LocalCloud() as cloud:
        print(write_openapi(cloud))
