"""A fake of WeChat's servers on loopback: login (jscode2session), with the WeChat Pay,
subscription-message and mini-program-code fakes mounted beside it.

Codes map to stable openids (the same code always gives the same openid); a code starting with `bad` is
rejected with errcode 40029 as WeChat does; the code `admin` gives the openid ADMIN_OPENIDS holds locally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.environment import ADMIN_OPENID
from local.httpd import serve_in_background

log = logging.getLogger("local.wechat_fake")


def openid_for(code: str) -> str:
    if code == "admin":
        return ADMIN_OPENID
    return "o_" + hashlib.sha256(code.encode()).hexdigest()[:26]


class WeChatFake:
    def __init__(self, host: str = "127.0.0.1", port: int = 3001, api_base: str = "http://127.0.0.1:3000") -> None:
        self.host = host
        self.port = port
        self.api_base = api_base
        self.login_calls = 0
        self.extra: list[Any] = []  # mounted fakes with .handle(method, path, headers, body)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.down = False  # tests flip this to see how the backend copes with WeChat being unreachable
        from local.merchant_keys import KEYS_DIR
        from local.wechat_pay_fake import PayFake

        self.pay = PayFake(KEYS_DIR, lambda url: url)
        self.extra.append(self.pay)
        try:  # subscription messages and access tokens
            from local.wechat_msg_fake import MessageFake

            self.msg: Any = MessageFake()
            self.extra.append(self.msg)
        except ImportError:
            self.msg = None
        from local.wechat_wxacode_fake import WxaCodeFake

        self.wxacode = WxaCodeFake(self.msg)  # mini-program codes (wxacode.getUnlimited)
        self.extra.append(self.wxacode)
        from local.wechat_console_fake import ConsoleScanFake

        self.console = ConsoleScanFake(lambda: self.api_base)  # POST /_sim/console-scan: a demo scan (local only)
        self.extra.append(self.console)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ routes
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET" and parts.path == "/sns/jscode2session":
            return self._json(200, self.jscode2session(query))
        for fake in self.extra:
            answer = fake.handle(method, raw_path, headers, body)
            if answer is not None:
                return answer
        return self._json(404, {"errcode": 404, "errmsg": "no such fake route"})

    def jscode2session(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.login_calls += 1
        code = query.get("js_code", "")
        if not query.get("appid") or not query.get("secret"):
            return {"errcode": 41002, "errmsg": "appid missing"}
        if not code or code.startswith("bad"):
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {"openid": openid_for(code), "session_key": hashlib.sha256(b"sk" + code.encode()).hexdigest()[:24]}

    @staticmethod
    def _json(status: int, value: Any) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(value, ensure_ascii=False).encode()

    # ------------------------------------------------------------------ server
    def start(self) -> WeChatFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each loopback answer stalls ~40 ms on delayed ACKs

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if fake.down:
                    self.close_connection = True
                    return
                status, headers, payload = fake.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("wechat fake: " + fmt, *args)

        self._server = serve_in_background(self.host, self.port, Handler, "wechat-fake")
        self.port = self._server.server_address[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
