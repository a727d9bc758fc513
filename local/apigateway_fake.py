"""API Gateway's `FlushStageAuthorizersCache`, faked for the local cloud: it empties the stack's authorizer cache.

`install(cloud)` hooks the process's API Gateway client (`storeloop.data.connection.aws_client("apigateway")`)
at botocore's `before-send`, where moto also answers, so the answer goes through botocore's parsing and retry
handling as a real one would: a 429 is retried by botocore's standard mode, and only by it. Every call is
recorded (`cloud.flushes.calls`: (rest api id, stage)); `fail_next(n)` makes the next n calls answer 429
(`TooManyRequestsException`), as the control plane does under its low rate limit.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

_FLUSH = re.compile(r"^/restapis/([^/]+)/stages/([^/]+)/cache/authorizers$")


class FlushFake:
    def __init__(self, cloud: Any) -> None:
        self._cloud = cloud
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        self._failures = 0

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._failures = n

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        match = _FLUSH.match(urlsplit(request.url).path)
        if request.method != "DELETE" or match is None:
            return None
        with self._lock:
            self.calls.append((unquote(match.group(1)), unquote(match.group(2))))
            if self._failures:
                self._failures -= 1
                return AWSResponse(request.url, 429, {"x-amzn-ErrorType": "TooManyRequestsException",
                                                      "Content-Type": "application/json"},
                                   MockRawResponse(b'{"message": "Too Many Requests"}'))
            self._cloud.authorizer_cache.clear()
        return AWSResponse(request.url, 202, {}, MockRawResponse(b""))


def install(cloud: Any) -> FlushFake:
    from storeloop.data.connection import aws_client

    fake = FlushFake(cloud)
    events = aws_client("apigateway").meta.events
    events.unregister("before-send.api-gateway", unique_id="local-flush-authorizers")
    events.register_first("before-send.api-gateway", fake, unique_id="local-flush-authorizers")
    return fake
