"""The local API server on 127.0.0.1:3000: HTTP in, API Gateway events to the handlers, one log line a request."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local import console_static
from local.apigw import ApiGateway
from local.httpd import serve_in_background

log = logging.getLogger("local")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's own payload limit


class ApiServer:
    def __init__(self, gateway: ApiGateway | None, host: str = "127.0.0.1", port: int = 3000,
                 openapi: dict[str, Any] | None = None, local_routes: dict[str, Any] | None = None) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self.openapi = openapi or {}
        self.local_routes = local_routes or {}  # "POST /_local/..." -> callable(path, body) -> (status, json)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> ApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each loopback answer stalls ~40 ms on delayed ACKs

            def _serve(self) -> None:
                raw_length = str(self.headers.get("Content-Length") or "0").strip()
                if not (raw_length.isascii() and raw_length.isdigit()) or self.headers.get("Transfer-Encoding"):
                    error = {"code": "VALIDATION_FAILED", "message": "send a body with a valid Content-Length",
                             "request_id": None}
                    self.close_connection = True
                    self._write(400, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode())
                    return
                length = int(raw_length)
                if length > MAX_BODY:
                    error = {"code": "PAYLOAD_TOO_LARGE", "message": "request body too large", "request_id": None}
                    self._write(413, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode())
                    return
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                if console_static.wants(path):  # the merchant console (console/dist), issue 8
                    console_static.serve(self, body, server.gateway.cloud.wechat_base if server.gateway else None)
                    return
                if self.command == "GET" and path == "/openapi.json":
                    # `servers` names this stack as it runs (its port is often chosen at start), not a fixed one.
                    doc = {**server.openapi, "servers": [{"url": server.base_url, "description": "this stack"}]}
                    self._write(200, {"Content-Type": "application/json"}, json.dumps(doc).encode())
                    return
                for key, fn in server.local_routes.items():
                    method, _, prefix = key.partition(" ")
                    if self.command == method and path.startswith(prefix):
                        status, value = fn(path, body)
                        self._write(status, {"Content-Type": "application/json"}, json.dumps(value).encode())
                        return
                if server.gateway is None:  # bound early (a taken port fails fast), not wired up yet
                    error = {"code": "STARTING", "message": "the local cloud is starting", "request_id": None}
                    self._write(503, {"Content-Type": "application/json", "Retry-After": "1"},
                                json.dumps({"error": error}).encode())
                    return
                resp = server.gateway.handle(self.command, self.path, list(self.headers.items()), body,
                                             source_ip=self.client_address[0])
                self._write(resp.status, resp.headers, resp.body)

            def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, CONNECT, PROPFIND, ...) goes to the gateway too, which answers 405 with
                # the envelope; http.server alone would answer 501 in HTML.
                if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
                    return self._serve
                raise AttributeError(name)

            def log_message(self, fmt: str, *args: Any) -> None:
                pass  # the gateway logs one line per request

        self._server = serve_in_background(self.host, self.port, Handler, "api-server")
        self.port = self._server.server_address[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
