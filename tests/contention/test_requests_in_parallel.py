"""Many requests on many threads in one process each see their own event, as separate Lambda environments do."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor


def test_parallel_requests_never_see_each_others_event(client, actors):
    admin = actors.admin["token"]
    for i in range(10):
        actors.store(f"s{i}")
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        def fetch(i: int) -> bool:
            resp = client.get(f"/stores/s{i % 10}", token=admin)
            return resp.status == 200 and resp.json()["store_id"] == f"s{i % 10}"

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(fetch, range(200)))
    finally:
        sys.setswitchinterval(old)
    assert results.count(False) == 0
