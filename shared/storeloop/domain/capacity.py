"""Capacity rules for a campaign's peak: how many warm Lambda environments and stock shards a rate needs.

Pure arithmetic (Little's law and DynamoDB's per-partition limit); the campaign flow sizes provisioned
concurrency with it, and `bench/flash_sale.py` simulates the burst with the same numbers.
"""

from __future__ import annotations

import math
from typing import Final

from storeloop.domain.coupons import PARTITION_WCU_PER_SECOND, WCU_PER_CLAIM_ON_SHARD

# Lambda's documented scaling for synchronous invocations: each function adds at most 1,000 execution
# environments every 10 seconds (on top of what it has), up to the account's concurrency limit.
SCALE_STEP: Final = 1_000
SCALE_PERIOD_S: Final = 10
HEADROOM: Final = 1.25  # arrivals are bursty (Poisson, retries): keep a quarter more than the mean needs
MAX_PROVISIONED: Final = 3_000  # what the flow ever asks for one function (an account quota raise beyond)
CLAIMS_PER_SHARD_PER_SECOND: Final = PARTITION_WCU_PER_SECOND // WCU_PER_CLAIM_ON_SHARD  # 500


def environments_for(peak_rps: float, warm_ms: float, *, headroom: float = HEADROOM) -> int:
    """Warm environments to serve `peak_rps` requests of `warm_ms` each: Little's law, L = λ·W, with headroom."""
    if peak_rps <= 0 or warm_ms <= 0:
        return 0
    return math.ceil(peak_rps * warm_ms / 1000 * headroom)


def provisioned_concurrency(peak_rps: float, warm_ms: float, *, cap: int = MAX_PROVISIONED) -> int:
    """What the campaign flow provisions for one function before the start (never above `cap`)."""
    return min(cap, environments_for(peak_rps, warm_ms))


def shards_for(claims_per_second: float) -> int:
    """Stock shards (each its own partition) that absorb `claims_per_second` transactional claims."""
    return max(1, math.ceil(claims_per_second / CLAIMS_PER_SHARD_PER_SECOND))


def seconds_to_reach(environments: int, *, already: int = 0) -> int:
    """How long Lambda's scaling takes to grow from `already` to `environments` without provisioning."""
    missing = max(0, environments - already - SCALE_STEP)  # the first step is there at once
    return math.ceil(missing / SCALE_STEP) * SCALE_PERIOD_S
