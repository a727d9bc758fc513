"""The merchant console on the local API server: `console/dist` at /console/, SPA routes answered with index.html.

Also the two things only the local console has: `GET /console/config.json` (the API is this same origin, and
`local: true` turns on the demo-scan helper) and `POST /console/_local/scan {"scene", "code"}`, which forwards
to the WeChat fake's `POST /_sim/console-scan` (the browser cannot call the fake's port: no CORS there).
Deployed, CloudFront answers config.json with `local: false` and there is no scan route (docs/console.md).
"""

from __future__ import annotations

import json
import mimetypes
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from local.stack import ROOT

PREFIX = "/console"
DIST = Path(os.environ.get("STORELOOP_CONSOLE_DIST", ROOT / "console" / "dist"))
TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8", ".json": "application/json",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".woff": "font/woff",
         ".woff2": "font/woff2", ".ttf": "font/ttf", ".map": "application/json", ".txt": "text/plain; charset=utf-8"}


def wants(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def config() -> dict[str, Any]:
    return {"api_base": "", "local": True, "refresh_seconds": int(os.environ.get("STORELOOP_CONSOLE_REFRESH", "5"))}


def serve(handler: BaseHTTPRequestHandler, body: bytes, wechat_base: str | None) -> None:
    """Answer one request under /console (the caller checked `wants`)."""
    path = urlsplit(handler.path).path
    method = handler.command
    if path == PREFIX:
        return _write(handler, 301, "text/plain", b"", {"Location": PREFIX + "/"})
    if path == f"{PREFIX}/config.json" and method in ("GET", "HEAD"):
        return _json(handler, 200, config())
    if path == f"{PREFIX}/_local/scan":
        if method != "POST":
            return _error(handler, 405, "METHOD_NOT_ALLOWED", "POST only")
        return _scan(handler, body, wechat_base)
    if method not in ("GET", "HEAD"):
        return _error(handler, 405, "METHOD_NOT_ALLOWED", "the console is static: GET only")
    if not (DIST / "index.html").is_file():
        return _error(handler, 503, "CONSOLE_NOT_BUILT", "the console is not built: run `make console`")
    rel = unquote(path[len(PREFIX) + 1:])
    target = (DIST / rel).resolve() if rel else DIST / "index.html"
    if rel and not target.is_relative_to(DIST.resolve()):
        return _error(handler, 404, "NOT_FOUND", "no such file")
    if target.is_file():
        cache = "public, max-age=31536000, immutable" if rel.startswith("assets/") else "no-cache"
        ctype = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return _write(handler, 200, ctype, target.read_bytes(), {"Cache-Control": cache})
    if rel.startswith("assets/") or "." in rel.rsplit("/", 1)[-1]:
        return _error(handler, 404, "NOT_FOUND", "no such file")
    # A console route (/console/campaigns, /console/store/sh-jingan): the app's router takes it from here.
    return _write(handler, 200, TYPES[".html"], (DIST / "index.html").read_bytes(), {"Cache-Control": "no-cache"})


def _scan(handler: BaseHTTPRequestHandler, body: bytes, wechat_base: str | None) -> None:
    if not wechat_base:
        return _error(handler, 503, "STARTING", "the local cloud is starting")
    req = urllib.request.Request(f"{wechat_base}/_sim/console-scan", data=body or b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback fake
            status, payload = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    except OSError as exc:
        return _error(handler, 502, "UPSTREAM_UNAVAILABLE", f"WeChat fake unreachable: {exc}")
    return _write(handler, status, "application/json", payload)


def _json(handler: BaseHTTPRequestHandler, status: int, value: Any) -> None:
    _write(handler, status, "application/json", json.dumps(value).encode(), {"Cache-Control": "no-store"})


def _error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
    _json(handler, status, {"error": {"code": code, "message": message, "request_id": None}})


def _write(handler: BaseHTTPRequestHandler, status: int, ctype: str, payload: bytes,
           extra: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    for k, v in (extra or {}).items():
        handler.send_header(k, v)
    handler.send_header("X-Content-Type-Options", "nosniff")
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(payload)
