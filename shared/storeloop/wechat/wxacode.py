"""Mini-program codes: WeChat's `wxacode.getUnlimited` (`POST /wxa/getwxacodeunlimit`), the image for a `scene`.

WeChat allows 5,000 calls a minute (errcode 45009) for the whole app: make each code once and keep it.
`scene` is at most 32 characters of `0-9A-Za-z!#$&'()*+,/:;=?@-._~` (`valid_scene`). The access token comes
from the same shared, cached token the subscription messages use (`SubscribeMessageClient.access_token`).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, Protocol

from storeloop.wechat.http import WeChatUnavailable
from storeloop.wechat.messages import TOKEN_REJECTED, AccessToken

PATH = "/wxa/getwxacodeunlimit"
SCENE_MAX = 32
_SCENE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
RATE_LIMITED = 45009


def valid_scene(scene: str) -> bool:
    return bool(_SCENE.match(scene))


class TokenSource(Protocol):
    def access_token(self) -> AccessToken: ...

    def after_rejection(self, rejected: AccessToken) -> AccessToken: ...


class WxaCodeError(Exception):
    """WeChat refused to draw the code (errcode), e.g. 45009 over the rate limit or 40169 an invalid scene."""

    def __init__(self, errcode: int, reason: str) -> None:
        self.errcode = errcode
        super().__init__(f"errcode {errcode}: {reason}")


def _post(base_url: str, token: AccessToken, body: dict[str, Any], timeout: float) -> tuple[str, bytes]:
    url = f"{base_url.rstrip('/')}{PATH}?access_token={token.value}"
    if not url.startswith(("https://", "http://")):
        raise WeChatUnavailable("WeChat base URL must be http(s)")
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL from settings
            return resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        raise WeChatUnavailable(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WeChatUnavailable(type(exc).__name__) from None


def get_unlimited(base_url: str, tokens: TokenSource, scene: str, page: str | None = None, *,
                  width: int = 430, check_path: bool = False, timeout: float = 5.0) -> bytes:
    """The code's image bytes (PNG or JPEG as WeChat sends it). Raises WxaCodeError or WeChatUnavailable.

    A rejected access token (40001/42001) is refreshed once, as for subscription messages.
    """
    if not valid_scene(scene):
        raise ValueError(f"scene must be 1-{SCENE_MAX} characters of WeChat's scene alphabet")
    body: dict[str, Any] = {"scene": scene, "width": width, "check_path": check_path}
    if page:
        body["page"] = page
    token = tokens.access_token()
    for attempt in (0, 1):
        content_type, raw = _post(base_url, token, body, timeout)
        if not content_type.startswith("application/json") and not raw.startswith(b"{"):
            return raw
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise WeChatUnavailable("not JSON") from None
        errcode = int(answer.get("errcode") or 0) if isinstance(answer, dict) else -1
        if errcode in TOKEN_REJECTED and attempt == 0:
            token = tokens.after_rejection(token)
            continue
        raise WxaCodeError(errcode or -1, "no image")
    raise WxaCodeError(-1, "no image")  # pragma: no cover - the loop returns or raises
