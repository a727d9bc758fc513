"""The API's OpenAPI document, merged from every function's resolver (each knows only its own routes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.cloud import LocalCloud
from local.stack import ROOT

OPENAPI_FILE = ROOT / "docs" / "openapi.json"


def build_openapi(cloud: LocalCloud) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "StoreLoop API", "version": "1.0.0",
                 "description": "The HTTP contract of StoreLoop (API.md), generated from the handlers."},
        "servers": [{"url": "http://127.0.0.1:3000", "description": "local cloud"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
    authorized = {(r.method.lower(), r.path) for r in cloud.stack.routes if r.authorized}
    for lid in sorted(cloud.stack.functions):
        module = cloud.module_of(lid)
        app = getattr(module, "app", None)
        if app is None or not hasattr(app, "get_openapi_schema"):
            continue
        schema = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        for path, item in (schema.get("paths") or {}).items():
            for method, op in item.items():
                if (method, path) in authorized:
                    op["security"] = [{"bearer": []}]
                doc["paths"].setdefault(path, {})[method] = op
        doc["components"]["schemas"].update((schema.get("components") or {}).get("schemas") or {})
    doc["paths"] = dict(sorted(doc["paths"].items()))
    doc["components"]["schemas"] = dict(sorted(doc["components"]["schemas"].items()))
    return doc


def write_openapi(cloud: LocalCloud, path: Path = OPENAPI_FILE) -> Path:
    path.write_text(json.dumps(build_openapi(cloud), indent=2, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":  # `make openapi`: rewrite docs/openapi.json from the handlers
    from local.cloud import LocalCloud

    with LocalCloud() as cloud:
        print(write_openapi(cloud))
