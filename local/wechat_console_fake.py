"""Local-only "scan" for the console login: `POST /_sim/console-scan {"scene", "code"}` on the WeChat fake.

Does what the mini-program does after a staff member scans the console's code: logs in with the wx.login `code`
(`POST /auth/login`, so `admin`, `demo-manager`, `demo-clerk` are the demo logins) and approves the scene
(`POST /auth/console-scenes/{scene}/approve`) through the API, like `/_sim/pay` delivers a payment. It lives in
`local/` only: a deployed stack has no such route. Answers 200 `{"approved": true, "member_id", "roles"}`, or the
API's own status and error envelope (403 for a shopper, 404 unknown scene, 409 TICKET_NOT_PENDING, ...).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

PATH = "/_sim/console-scan"
Response = tuple[int, dict[str, str], bytes]
# (method, path, json body, bearer token) -> (status, parsed json body)
ApiCall = Callable[[str, str, Any, str | None], tuple[int, Any]]


def _json(status: int, value: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(value, ensure_ascii=False).encode()


class ConsoleScanFake:
    def __init__(self, api_base: Callable[[], str]) -> None:
        self._api_base = api_base
        self.api: ApiCall | None = None  # tests set this to call the API in-process; else HTTP to api_base

    def _call(self, method: str, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        if self.api is not None:
            return self.api(method, path, body, token)
        headers = {"Content-Type": "application/json", "User-Agent": "storeloop-wechat-fake"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self._api_base() + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback API only
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        if method.upper() != "POST" or urlsplit(path).path != PATH:
            return None
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("scene"), str) \
                or not isinstance(request.get("code"), str) or not request["scene"] or not request["code"]:
            return _json(400, {"error": {"code": "VALIDATION_FAILED",
                                         "message": 'expected {"scene": "<from the ticket>", "code": "<login code>"}'}})
        try:
            status, login = self._call("POST", "/auth/login", {"code": request["code"]}, None)
            if status != 200:
                return _json(status, login)
            status, answer = self._call("POST", f"/auth/console-scenes/{quote(request['scene'], safe='')}/approve",
                                        None, login["token"])
        except (OSError, ValueError) as exc:
            return _json(502, {"error": {"code": "API_UNREACHABLE", "message": str(exc)}})
        if status != 200:
            return _json(status, answer)
        return _json(200, {"approved": True, "member_id": answer["member_id"], "roles": answer["roles"]})
