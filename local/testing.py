"""The test client: a request becomes the same API Gateway event the local API server builds."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from local.apigw import ApiGateway, HttpResponse


class TestClient:
    __test__ = False  # not a pytest test class

    def __init__(self, gateway: ApiGateway) -> None:
        self.gateway = gateway

    def request(self, method: str, path: str, *, json_body: Any = None, raw: bytes | None = None,
                token: str | None = None, headers: dict[str, str] | None = None,
                query: dict[str, Any] | None = None) -> HttpResponse:
        hdrs = {"Host": "127.0.0.1:3000", "User-Agent": "storeloop-tests"}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
        if raw is not None:
            body = raw
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        if query:
            path = f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"
        return self.gateway.handle(method, path, hdrs, body)

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> HttpResponse:  # noqa: A002 - reads like requests
        return self.request("POST", path, json_body=json, **kw)

    def delete(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("DELETE", path, **kw)

    def login(self, code: str) -> dict[str, Any]:
        resp = self.post("/auth/login", {"code": code})
        assert resp.status == 200, resp.body
        return resp.json()


def ok(resp: HttpResponse, status: int = 200) -> Any:
    """The JSON body of a response that must have this status (the body in the failure message otherwise)."""
    assert resp.status == status, resp.body
    return resp.json()
