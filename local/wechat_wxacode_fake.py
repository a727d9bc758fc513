"""The mini-program-code half of the fake WeChat server: `POST /wxa/getwxacodeunlimit?access_token=`.

Answers a real PNG: a QR code (drawn with segno) encoding `scene`, so a test or a developer can decode or scan
what the backend shows. Errors as WeChat gives them: 40001 for a token the message fake never issued, 40169
for a scene outside WeChat's alphabet or over 32 characters, 45009 when `rate_limit()` is on. Mounted by
`local.wechat_fake.WeChatFake` (as `.wxacode`); `calls` lists every scene asked for (tests count them).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import segno

from storeloop.wechat.wxacode import PATH, valid_scene

Response = tuple[int, dict[str, str], bytes]


def _json(status: int, value: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


class WxaCodeFake:
    def __init__(self, msg_fake: Any) -> None:
        self._msg = msg_fake  # the MessageFake: it knows which access tokens are valid
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls: list[dict[str, Any]] = []
            self._rate_limited = False

    def rate_limit(self, on: bool = True) -> None:
        """Answer 45009 (over WeChat's 5,000 a minute) until turned off."""
        with self._lock:
            self._rate_limited = on

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        parts = urlsplit(path)
        if method.upper() != "POST" or parts.path != PATH:
            return None
        token = parse_qs(parts.query).get("access_token", [""])[0]
        known = getattr(self._msg, "_tokens", {}) if self._msg is not None else {}
        if token not in known or known[token].get("state") != "valid":
            return _json(200, {"errcode": 40001, "errmsg": "invalid credential"})
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _json(200, {"errcode": 47001, "errmsg": "data format error"})
        scene = request.get("scene") if isinstance(request, dict) else None
        if not isinstance(scene, str) or not valid_scene(scene):
            return _json(200, {"errcode": 40169, "errmsg": "invalid length for scene"})
        with self._lock:
            if self._rate_limited:
                return _json(200, {"errcode": 45009, "errmsg": "reach max api daily quota limit"})
            self.calls.append({"scene": scene, "page": request.get("page")})
        out = io.BytesIO()
        segno.make_qr(scene, error="m").save(out, kind="png", scale=6, border=2)
        return 200, {"Content-Type": "image/png"}, out.getvalue()
