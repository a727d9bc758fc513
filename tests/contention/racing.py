"""Contention helpers: requests on real threads, released together so they really overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def all_at_once(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """`fn(i)` for i in range(n), on n threads released together by a barrier; the results in order."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
