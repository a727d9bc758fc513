"""Lambda's provisioned-concurrency API, faked for the local cloud (moto does not implement it).

`install()` hooks the process's Lambda client (`storeloop.data.connection.aws_client("lambda")`) through
botocore's `before-call` event, so the warm flow's calls never leave the process and moto is not asked.
The fake keeps what each (function, alias) is set to and every call, for tests to assert
(`cloud.provisioned.configs`, `.calls`).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


class ProvisionedConcurrencyFake:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.configs: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, str, str, int | None]] = []  # (operation, function, alias, n)

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[_Http, dict[str, Any]] | None:
        op = model.name
        if op not in ("PutProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig",
                      "GetProvisionedConcurrencyConfig"):
            return None
        function = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        alias = str(params.get("query_string", {}).get("Qualifier", ""))
        key = (function, alias)
        with self._lock:
            if op == "PutProvisionedConcurrencyConfig":
                n = int(json.loads(params["body"] or b"{}")["ProvisionedConcurrentExecutions"])
                self.calls.append((op, function, alias, n))
                self.configs[key] = n
                return _Http(202), {"RequestedProvisionedConcurrentExecutions": n, "Status": "IN_PROGRESS"}
            self.calls.append((op, function, alias, None))
            if key not in self.configs:
                return _Http(404), {"Error": {"Code": "ResourceNotFoundException",
                                              "Message": "No Provisioned Concurrency Config found"}}
            if op == "DeleteProvisionedConcurrencyConfig":
                del self.configs[key]
                return _Http(204), {}
            n = self.configs[key]
            return _Http(200), {"RequestedProvisionedConcurrentExecutions": n,
                                "AllocatedProvisionedConcurrentExecutions": n, "Status": "READY"}


def install() -> ProvisionedConcurrencyFake:
    """A fresh fake on the process's Lambda client (replacing the previous stack's)."""
    from storeloop.data.connection import aws_client

    fake = ProvisionedConcurrencyFake()
    events = aws_client("lambda").meta.events
    events.unregister("before-call.lambda", unique_id="local-provisioned-concurrency")
    events.register("before-call.lambda", fake, unique_id="local-provisioned-concurrency")
    return fake
