"""The subscription-message half of the fake WeChat server: access tokens and `subscribe/send`, with test hooks.

Mounted by `local.wechat_fake.WeChatFake` (as `.msg`). Routes:
- `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` → {"access_token", "expires_in"}
- `POST /cgi-bin/message/subscribe/send?access_token=` → {"errcode": 0, "errmsg": "ok", "msgid"}; 40001 for an
  unknown or invalidated token, 42001 for an expired one, 47001 for a malformed body
- `GET /_sim/messages[?touser=&template_id=]` → {"items": [...every message sent...]}
Hooks for tests: `expire_tokens()` (42001), `invalidate_tokens()` (40001), `refuse_all_tokens()` (40001 for new
tokens too), `reject_openid(openid)` (43101),
`fail_sends(n)` (the next n sends answer HTTP 500, or an errcode), `reset()`. Thread-safe.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

Response = tuple[int, dict[str, str], bytes]

TOKEN_PATH = "/cgi-bin/token"
SEND_PATH = "/cgi-bin/message/subscribe/send"
SIM_PATH = "/_sim/messages"


def _json(status: int, value: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(value, ensure_ascii=False).encode()


class MessageFake:
    def __init__(self, token_expires_in: int = 7200) -> None:
        self.token_expires_in = token_expires_in
        self._lock = threading.Lock()
        self.reset()

    # ---------------------------------------------------------------- test hooks
    def reset(self) -> None:
        """Forget tokens, messages and every hook (tests call this first: the fake lives for the whole session)."""
        with self._lock:
            self._tokens: dict[str, dict[str, Any]] = {}  # token -> {"expires_at", "state"}
            self._messages: list[dict[str, Any]] = []
            self._no_grant: set[str] = set()
            self._failures: list[tuple[int, int | None]] = []  # (HTTP status, errcode) per upcoming send
            self._refuse_all_tokens = False
            self.token_calls = 0
            self.send_calls = 0

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 (access_token expired) from now on."""
        with self._lock:
            for t in self._tokens.values():
                t["state"] = "expired"

    def invalidate_tokens(self) -> None:
        """Every token issued so far answers 40001 (invalid credential) from now on."""
        with self._lock:
            for t in self._tokens.values():
                t["state"] = "invalid"

    def refuse_all_tokens(self, refuse: bool = True) -> None:
        """Every token, including those issued from now on, answers 40001 (a revoked secret, say)."""
        with self._lock:
            self._refuse_all_tokens = refuse

    def reject_openid(self, openid: str) -> None:
        """Sends to this user answer 43101 (the user holds no grant for the template)."""
        with self._lock:
            self._no_grant.add(openid)

    def fail_sends(self, n: int, *, status: int = 500, errcode: int | None = None) -> None:
        """The next `n` sends fail: HTTP `status` with a non-JSON body, or (status 200) WeChat's `errcode`."""
        with self._lock:
            self._failures.extend([(status, errcode)] * n)

    def messages(self, touser: str | None = None, template_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages
                    if (touser is None or m["touser"] == touser)
                    and (template_id is None or m["template_id"] == template_id)]

    # ---------------------------------------------------------------- routes
    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        verb = method.upper()
        if verb == "GET" and parts.path == TOKEN_PATH:
            return self._token(query)
        if verb == "POST" and parts.path == SEND_PATH:
            return self._send(query, body)
        if verb == "GET" and parts.path == SIM_PATH:
            return _json(200, {"items": self.messages(query.get("touser"), query.get("template_id"))})
        return None

    def _token(self, query: dict[str, str]) -> Response:
        with self._lock:
            self.token_calls += 1
            if query.get("grant_type") != "client_credential":
                return _json(200, {"errcode": 40002, "errmsg": "invalid grant_type"})
            if not query.get("appid"):
                return _json(200, {"errcode": 41002, "errmsg": "appid missing"})
            if not query.get("secret"):
                return _json(200, {"errcode": 41004, "errmsg": "appsecret missing"})
            token = "at_" + secrets.token_urlsafe(24)
            self._tokens[token] = {"expires_at": time.time() + self.token_expires_in, "state": "valid"}
            return _json(200, {"access_token": token, "expires_in": self.token_expires_in})

    def _send(self, query: dict[str, str], body: bytes) -> Response:
        with self._lock:
            self.send_calls += 1
            token = self._tokens.get(query.get("access_token", ""))
            if token is None or token["state"] == "invalid" or self._refuse_all_tokens:
                return _json(200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            if token["state"] == "expired" or token["expires_at"] <= time.time():
                return _json(200, {"errcode": 42001, "errmsg": "access_token expired"})
            if self._failures:
                status, errcode = self._failures.pop(0)
                if errcode is not None:
                    return _json(status, {"errcode": errcode, "errmsg": "system error"})
                return status, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
            try:
                message = json.loads(body or b"{}")
            except ValueError:
                return _json(200, {"errcode": 47001, "errmsg": "data format error"})
            if (not isinstance(message, dict) or not message.get("touser") or not message.get("template_id")
                    or not isinstance(message.get("data"), dict)):
                return _json(200, {"errcode": 47001, "errmsg": "data format error"})
            if message["touser"] in self._no_grant:
                return _json(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            msgid = len(self._messages) + 1
            self._messages.append({"msgid": msgid, "touser": message["touser"],
                                   "template_id": message["template_id"], "page": message.get("page"),
                                   "data": message["data"], "sent_at": time.time()})
            return _json(200, {"errcode": 0, "errmsg": "ok", "msgid": msgid})
