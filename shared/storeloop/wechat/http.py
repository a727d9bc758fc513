"""A small JSON-over-HTTP helper for WeChat's APIs (stdlib urllib: nothing heavy to import at cold start)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class WeChatUnavailable(Exception):
    """WeChat could not be reached, timed out, or answered something that is not JSON."""


def call(method: str, url: str, *, query: dict[str, str] | None = None, body: Any = None,
         timeout: float = 3.0) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise WeChatUnavailable("WeChat base URL must be http(s)")  # never file:// or a custom scheme
    if query:
        url = f"{url}?{urllib.parse.urlencode(query)}"
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - scheme checked above
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL from settings
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raise WeChatUnavailable(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WeChatUnavailable(type(exc).__name__) from None
    try:
        value = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        raise WeChatUnavailable("not JSON") from None
    if not isinstance(value, dict):
        raise WeChatUnavailable("not a JSON object")
    return value
