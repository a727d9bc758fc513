"""API Gateway (REST, v1 proxy events) in front of the local cloud: routing, the authorizer, gateway responses.

Both the HTTP server (`local.server`) and the test client (`local.testing`) go through `ApiGateway.handle`, so
what the tests exercise is the template's wiring: its routes, its authorizer and its gateway responses.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.clients import REGION
from local.cloud import LocalCloud
from local.stack import ACCOUNT, Route

log = logging.getLogger("local.api")

STAGE = "local"
API_ID = "local"


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class ApiGateway:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.routes: list[Route] = cloud.stack.routes
        self.gateway_responses = cloud.stack.gateway_responses

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, raw_path: str, headers: list[tuple[str, str]] | dict[str, str],
               body: bytes = b"", source_ip: str = "127.0.0.1") -> HttpResponse:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers)
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        try:
            resp = self._dispatch(method.upper(), path, parts.query, pairs, body, request_id, source_ip)
        except Exception:  # noqa: BLE001 - API Gateway answers 5xx with its own body, never a trace
            log.exception("integration failure")
            resp = self._gateway_response("DEFAULT_5XX", 502, request_id, "Internal server error")
        resp.request_id = request_id
        resp.headers.setdefault("x-amzn-RequestId", request_id)
        ms = (time.perf_counter() - started) * 1000
        log.info("%s %s %d %.1fms %s", method.upper(), path, resp.status, ms, request_id)
        return resp

    # ------------------------------------------------------------------ routing
    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed: list[str] = []
        resource: str | None = None  # API Gateway resolves the most specific resource first, then its methods
        for route in self.routes:
            m = route.regex.match(path)
            if not m:
                continue
            if resource is None:
                resource = route.path
            elif route.path != resource:
                continue
            if route.method in (method, "ANY"):
                return route, {k: v for k, v in m.groupdict().items()}, allowed
            allowed.append(route.method)
        return None, {}, allowed

    def _dispatch(self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                  request_id: str, source_ip: str) -> HttpResponse:
        route, params, allowed = self.match(method, path)
        if route is None:
            if allowed:
                # Real API Gateway answers 403 "Missing Authentication Token" here; the contract wants 405.
                return self._envelope(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}", request_id,
                                      {"Allow": ", ".join(sorted(set(allowed)))})
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", 403, request_id,
                                          "Missing Authentication Token")
        event = self.build_event(route, method, path, query, headers, body, params, request_id, source_ip)
        if route.authorized:
            denied = self._authorize(route, event, request_id)
            if denied is not None:
                return denied
        result = self.cloud.invoke(route.function, event)
        return self._proxy_response(result, request_id)

    # ------------------------------------------------------------------ events
    def build_event(self, route: Route, method: str, path: str, query: str, headers: list[tuple[str, str]],
                    body: bytes, params: dict[str, str], request_id: str, source_ip: str) -> dict[str, Any]:
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for k, v in headers:
            single[k] = v
            multi.setdefault(k, []).append(v)
        q_single: dict[str, str] = {}
        q_multi: dict[str, list[str]] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            q_single[k] = v
            q_multi.setdefault(k, []).append(v)
        try:
            text = body.decode("utf-8") if body else None
            is_b64 = False
        except UnicodeDecodeError:
            text, is_b64 = base64.b64encode(body).decode(), True
        now = time.time()
        lower = {k.lower(): v for k, v in single.items()}
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": q_single or None,
            "multiValueQueryStringParameters": q_multi or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": API_ID,
                "resourceId": "local",
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{STAGE}{path}",
                "stage": STAGE,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "protocol": "HTTP/1.1",
                "domainName": lower.get("host", "127.0.0.1"),
                "identity": {"sourceIp": source_ip, "userAgent": lower.get("user-agent")},
            },
            "body": text,
            "isBase64Encoded": is_b64,
        }

    def method_arn(self, event: dict[str, Any]) -> str:
        return (f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{event['httpMethod']}"
                f"{event['path']}")

    def _authorize(self, route: Route, event: dict[str, Any], request_id: str) -> HttpResponse | None:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        if not headers.get("authorization"):
            # The identity source is missing: API Gateway answers 401 without calling the authorizer.
            return self._gateway_response("UNAUTHORIZED", 401, request_id, "Unauthorized")
        auth_event = {
            "type": "REQUEST",
            "methodArn": self.method_arn(event),
            "resource": event["resource"], "path": event["path"], "httpMethod": event["httpMethod"],
            "headers": event["headers"], "multiValueHeaders": event["multiValueHeaders"],
            "queryStringParameters": event["queryStringParameters"],
            "multiValueQueryStringParameters": event["multiValueQueryStringParameters"],
            "pathParameters": event["pathParameters"], "stageVariables": None,
            "requestContext": event["requestContext"],
        }
        assert self.cloud.stack.authorizer is not None
        # API Gateway's cache: the answer for this identity source (the Authorization header) is reused for
        # ReauthorizeEvery seconds, for every route (its policy must cover the whole API).
        ttl, key = self.cloud.stack.authorizer_ttl, str(headers.get("authorization"))
        cached = self.cloud.authorizer_cache.get(key) if ttl else None
        if cached is not None and cached[0] > time.monotonic():
            result = cached[1]
        else:
            self.cloud.authorizer_invocations += 1
            try:
                result = self.cloud.invoke(self.cloud.stack.authorizer, auth_event)
            except Exception as exc:  # noqa: BLE001 - "Unauthorized" is the authorizer's way to say 401
                if str(exc) == "Unauthorized":
                    return self._gateway_response("UNAUTHORIZED", 401, request_id, "Unauthorized")
                log.exception("authorizer failed")
                return self._gateway_response("AUTHORIZER_FAILURE", 500, request_id, "Internal server error")
            if ttl:
                self.cloud.authorizer_cache[key] = (time.monotonic() + ttl, result)
        if not _policy_allows(result.get("policyDocument") or {}, auth_event["methodArn"]):
            return self._gateway_response("ACCESS_DENIED", 403, request_id, "User is not authorized")
        context = {k: v for k, v in (result.get("context") or {}).items()}
        context["principalId"] = result.get("principalId")
        event["requestContext"]["authorizer"] = context
        return None

    # ------------------------------------------------------------------ responses
    def _proxy_response(self, result: Any, request_id: str) -> HttpResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            log.error("malformed Lambda proxy response")
            return self._gateway_response("DEFAULT_5XX", 502, request_id, "Internal server error")
        headers: dict[str, str] = {}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[k] = ", ".join(str(v) for v in values)
        for k, v in (result.get("headers") or {}).items():
            headers[k] = str(v)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return HttpResponse(int(result["statusCode"]), headers, raw)

    def _gateway_response(self, kind: str, default_status: int, request_id: str, message: str) -> HttpResponse:
        spec = self.gateway_responses.get(kind)
        if spec is None and kind not in ("DEFAULT_4XX", "DEFAULT_5XX"):
            spec = self.gateway_responses.get("DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX")
        status = int((spec or {}).get("StatusCode") or default_status)
        template = ((spec or {}).get("ResponseTemplates") or {}).get("application/json")
        if template is None:
            return HttpResponse(status, {"Content-Type": "application/json"},
                                json.dumps({"message": message}).encode())
        body = (template.replace("$context.requestId", request_id)
                .replace("$context.error.messageString", json.dumps(message)))  # a quoted JSON string, as AWS gives it
        return HttpResponse(status, {"Content-Type": "application/json"}, body.encode())

    def _envelope(self, status: int, code: str, message: str, request_id: str,
                  headers: dict[str, str] | None = None) -> HttpResponse:
        body = {"error": {"code": code, "message": message, "request_id": request_id}}
        return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


def _policy_allows(policy: dict[str, Any], arn: str) -> bool:
    allowed = False
    for stmt in policy.get("Statement") or []:
        resources = stmt.get("Resource")
        resources = resources if isinstance(resources, list) else [resources]
        hit = any(re.fullmatch(re.escape(str(r)).replace(r"\*", ".*").replace(r"\?", "."), arn) for r in resources)
        if hit and stmt.get("Effect") == "Deny":
            return False
        if hit and stmt.get("Effect") == "Allow":
            allowed = True
    return allowed
