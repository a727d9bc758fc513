"""Records the DynamoDB requests a handler sends, so a bench can replay exactly them through a bare client."""

from __future__ import annotations

import copy
import threading
from typing import Any


class RequestRecorder:
    """Every DynamoDB request (operation, parameters) the app's clients send on the recording thread.

    Only the thread that turned recording on is recorded: flows the local cloud runs in the background (a
    campaign going live, a payment timeout) share the same clients and must not count as the handler's work.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._thread: int | None = None

    @property
    def on(self) -> bool:
        return self._thread is not None

    @on.setter
    def on(self, value: bool) -> None:
        self._thread = threading.get_ident() if value else None

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._thread is not None and threading.get_ident() == self._thread:
            self.calls.append((model.name, copy.deepcopy(params)))
