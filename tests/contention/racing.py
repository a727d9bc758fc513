"""Contention helpers: requests on real threads, released together so they really overlap; the stream delivered
during a race; the analytics the stream produced, through the admin routes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any


def all_at_once(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """`fn(i)` for i in range(n), on n threads released together by a barrier; the results in order."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@contextmanager
def streaming(cloud: Any, interval: float = 0.005) -> Iterator[None]:
    """The stream delivered while the race runs, as the poller of `make run` (and Lambda) does: batches arrive
    between and during the racing requests' writes, including those of transactions that fail."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def poll() -> None:
        while not stop.is_set():
            try:
                if not cloud.drain_streams(max_rounds=1):
                    stop.wait(interval)
            except BaseException as exc:  # noqa: BLE001 - reported after the race
                errors.append(exc)
                return

    thread = threading.Thread(target=poll, name="stream-poller", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors


def campaign_counters(cloud: Any, client: Any, admin: str, campaign_id: str) -> dict[str, Any]:
    """A campaign's analytics as the admin route answers them, once the stream is delivered."""
    cloud.drain_streams()
    resp = client.get(f"/admin/analytics/campaigns/{campaign_id}", token=admin)
    assert resp.status == 200, resp.body
    return resp.json()


def store_totals(cloud: Any, client: Any, admin: str, store_id: str) -> dict[str, int]:
    """A store's analytics totals of the last 7 days (the route's default range), once the stream is delivered."""
    cloud.drain_streams()
    resp = client.get(f"/admin/analytics/stores/{store_id}", token=admin)
    assert resp.status == 200, resp.body
    return resp.json()["totals"]
