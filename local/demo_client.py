"""The plumbing of `make demo` (`local.demo`), standard library only: a JSON-over-HTTP client whose failures say in
one line what failed, waiting for a condition, and the tables and amounts it prints."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8))


class Failure(Exception):
    """Why a step failed, in one line."""


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None
                                            else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback URLs we build
                text = resp.read()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                return exc.code, json.loads(text) if text else None
            except ValueError:
                return exc.code, {"error": {"code": "NOT_JSON", "message": text[:200].decode(errors="replace")}}
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Failure(f"cannot reach {self.base} ({reason}); is `make run` running on these ports?") from None


def expect(wanted: int | Sequence[int], answer: tuple[int, Any], what: str) -> Any:
    """The body of an answer with the wanted status; otherwise Failure naming the call, status and error code."""
    status, body = answer
    if status in ((wanted,) if isinstance(wanted, int) else wanted):
        return body
    body = body if isinstance(body, dict) else {}
    # Webhooks answer {"code", "message"} without the envelope.
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else body
    raise Failure(f"{what}: HTTP {status} {error.get('code', '')} {error.get('message', '')}".rstrip())


def poll(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"{what} within {seconds:.0f} s")
        time.sleep(0.2)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "    ") -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(indent + line for line in lines)


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(CST).replace(microsecond=0).isoformat()
