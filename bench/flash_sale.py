"""The flash-sale minute, simulated: a discrete-event model of API Gateway → authorizer → claim → DynamoDB.

What it does, in one run:
1. measures the two functions on the claim path here: cold init (a fresh interpreter importing the handler,
   median of BENCH_FS_COLD_RUNS) and warm time (the handler invoked in-process against the local cloud);
2. simulates claims arriving at 10k, 50k and 100k claims/s for 10 s, each with and without pre-warming
   (provisioned concurrency sized by `storeloop.domain.capacity`, as the campaign flow does), in 1 ms steps;
3. prints p50/p99 claim latency, throttled requests by cause, oversell (must be 0) and the peak concurrency,
   and what it takes to hold 100k claims/s for one brand (environments, shards, quotas), simulated too.

The model (each assumption and its source is in docs/capacity.md):
- arrivals: Poisson per millisecond at the offered rate, seeded (BENCH_FS_SEED);
- API Gateway: a token bucket with the stage's ThrottlingRateLimit / ThrottlingBurstLimit from template.yaml
  (the account default is the same 10,000 rps / 5,000 burst); over it → 429;
- authorizer: its cache (keyed by the token) answers AUTH_CACHE_HIT of the claims (the shopper opened the
  campaign page first, within the TTL); the rest invoke the authorizer function;
- Lambda, per function: an idle warm environment serves at once; else a new environment is created if the
  function's scaling allows (1,000 at once, +1,000 every 10 s, up to its share of the account's concurrency
  limit) and pays the cold init first; else the invocation is throttled (429). Provisioned environments are
  warm at t = 0 and count against the same limit;
- DynamoDB: each stock shard is its own partition with 1,000 WCU/s; a claim writes 2 WCU on its shard, so
  500 claims/s per shard (token bucket of one second). A claim over its shard's rate is throttled and retried
  by the SDK after a backoff (50, 100, 200 ms), holding its environment; after the last retry → 503. A claim
  takes a unit only if the shard has one (the condition `stock > 0`): oversell is counted, and must be 0;
  once a shard is empty its claims answer SOLD_OUT without a write (the empty-shard memory).
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from storeloop.domain.capacity import (
    CLAIMS_PER_SHARD_PER_SECOND,
    SCALE_PERIOD_S,
    SCALE_STEP,
    provisioned_concurrency,
    seconds_to_reach,
    shards_for,
)
from storeloop.domain.coupons import MAX_STOCK_SHARDS

SEED = int(os.environ.get("BENCH_FS_SEED", "7"))
COLD_RUNS = int(os.environ.get("BENCH_FS_COLD_RUNS", "5"))
WARM_RUNS = int(os.environ.get("BENCH_FS_WARM_RUNS", "60"))
ARRIVAL_S = 10
DRAIN_S = 20  # time after the arrivals stop for what is still queued to finish
AUTH_CACHE_HIT = 0.9
RETRY_BACKOFF_MS = (50, 100, 200)
ACCOUNT_CONCURRENCY = int(os.environ.get("BENCH_FS_ACCOUNT_CONCURRENCY", "10000"))  # a raised quota (default 1,000)


# ---------------------------------------------------------------------------------------------- measurement
def _cold_ms(function_dir: str, module: str, env: dict[str, str]) -> float:
    code = f"import sys; sys.path.insert(0, '.'); import {module}"
    subprocess.run([sys.executable, "-c", code], cwd=function_dir, env=env, check=True)  # warm the file cache
    runs = []
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=function_dir, env=env, check=True)
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def measure() -> dict[str, float]:
    """Cold init and warm time (ms) of the claim function and the authorizer, measured here and now."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from datetime import timedelta

    from bench.coldstart import _env
    from local.apigw import ApiGateway
    from local.cloud import LocalCloud
    from local.testing import TestClient
    from local.wechat_fake import WeChatFake
    from storeloop.domain import clock
    from storeloop.domain.clock import to_rfc3339

    wechat = WeChatFake(port=0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url).start()
    try:
        stack = cloud.stack
        claim_fn = stack.functions["ClaimCouponFunction"]
        auth_fn = stack.functions[stack.authorizer]
        cold_claim = _cold_ms(str(claim_fn.code_uri), claim_fn.handler.rsplit(".", 1)[0], _env())
        cold_auth = _cold_ms(str(auth_fn.code_uri), auth_fn.handler.rsplit(".", 1)[0], _env())

        gateway = ApiGateway(cloud)
        client = TestClient(gateway)
        admin = client.login("admin")["token"]
        template_id = client.post("/admin/coupon-templates", {
            "name": "flash", "kind": "cash_off", "amount_off_fen": 500, "total_stock": 100_000,
            "validity": {"type": "relative", "days": 1}}, token=admin).json()["template_id"]
        start = clock.now() - timedelta(minutes=1)
        campaign_id = client.post("/admin/campaigns", {
            "name": "flash", "starts_at": to_rfc3339(start), "ends_at": to_rfc3339(start + timedelta(hours=1)),
            "template_ids": [template_id]}, token=admin).json()["campaign_id"]
        client.post(f"/admin/campaigns/{campaign_id}/publish", token=admin)
        path = f"/campaigns/{campaign_id}/claims"
        route, params, _ = gateway.match("POST", path)
        assert route is not None
        body = json.dumps({"template_id": template_id}).encode()
        tokens = [client.login(f"flash-shopper-{i}")["token"] for i in range(WARM_RUNS + 5)]

        def auth_event(token: str) -> dict[str, Any]:
            return {"type": "REQUEST", "methodArn": f"arn:aws:execute-api:ap-east-1:1:local/dev/POST{path}",
                    "resource": path, "path": path, "httpMethod": "POST",
                    "headers": {"Authorization": f"Bearer {token}"},
                    "requestContext": {"requestId": "r", "stage": "dev", "httpMethod": "POST"}}

        claim_s: list[float] = []
        auth_s: list[float] = []
        for i, token in enumerate(tokens):
            started = time.perf_counter()
            policy = cloud.invoke(stack.authorizer, auth_event(token))
            auth_done = time.perf_counter()
            headers = [("Host", "127.0.0.1"), ("Content-Type", "application/json")]
            event = gateway.build_event(route, "POST", path, "", headers, body, params, f"req-{i}", "127.0.0.1")
            event["requestContext"]["authorizer"] = policy["context"]
            answer = cloud.invoke(route.function, event)
            done = time.perf_counter()
            assert answer["statusCode"] == 201, answer
            if i >= 5:  # the first few warm the caches, as the first requests of a container do
                auth_s.append((auth_done - started) * 1000)
                claim_s.append((done - auth_done) * 1000)
        return {"cold_claim": cold_claim, "cold_auth": cold_auth,
                "warm_claim": statistics.median(claim_s), "warm_auth": statistics.median(auth_s)}
    finally:
        cloud.stop()
        wechat.stop()


# ---------------------------------------------------------------------------------------------- the model
@dataclass
class Function:
    """One Lambda function's execution environments, in 1 ms steps."""

    name: str
    cold_ms: int
    warm_ms: int
    limit: int  # its share of the account's concurrency
    provisioned: int = 0
    envs: int = 0
    idle: int = 0
    created_in_period: int = 0
    frees: dict[int, int] = field(default_factory=dict)  # tick → environments that become idle then
    peak: int = 0
    cold_starts: int = 0
    throttled: int = 0

    def __post_init__(self) -> None:
        self.envs = self.idle = min(self.provisioned, self.limit)

    def tick(self, t: int) -> None:
        self.idle += self.frees.pop(t, 0)
        if t % (SCALE_PERIOD_S * 1000) == 0:
            self.created_in_period = 0

    def take(self, t: int, n: int) -> tuple[int, int]:
        """Serve up to n invocations: (warm, cold); the rest are throttled."""
        warm = min(n, self.idle)
        self.idle -= warm
        room = min(n - warm, self.limit - self.envs, SCALE_STEP - self.created_in_period)
        cold = max(0, room)
        self.envs += cold
        self.created_in_period += cold
        self.cold_starts += cold
        self.throttled += n - warm - cold
        self.peak = max(self.peak, self.envs - self.idle)
        return warm, cold

    def hold(self, until: int, n: int) -> None:
        self.frees[until] = self.frees.get(until, 0) + n


@dataclass
class Scenario:
    rate: int  # offered claims/s
    prewarm: bool
    stock: int
    shards: int
    api_rate: int
    api_burst: int
    account: int = ACCOUNT_CONCURRENCY
    label: str = ""


@dataclass
class Result:
    latencies: dict[int, int] = field(default_factory=dict)  # ms → answered claims
    won: int = 0
    sold_out: int = 0
    api_throttled: int = 0
    lambda_throttled: int = 0
    ddb_failed: int = 0
    ddb_retries: int = 0
    oversell: int = 0
    peak_claim: int = 0
    peak_auth: int = 0
    provisioned: tuple[int, int] = (0, 0)

    def pct(self, q: float) -> float:
        total = sum(self.latencies.values())
        if not total:
            return float("nan")
        want, seen = q * total, 0
        for ms in sorted(self.latencies):
            seen += self.latencies[ms]
            if seen >= want:
                return ms
        return max(self.latencies)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam >= 30:  # the normal approximation is within a fraction of a percent here
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:  # Knuth
        k += 1
        p *= rng.random()
    return k


def simulate(s: Scenario, t_ms: dict[str, float]) -> Result:
    rng = random.Random(SEED)
    r = Result()
    warm_claim, warm_auth = max(1, round(t_ms["warm_claim"])), max(1, round(t_ms["warm_auth"]))
    miss = 1 - AUTH_CACHE_HIT
    p_claim = provisioned_concurrency(s.rate, warm_claim) if s.prewarm else 0
    p_auth = provisioned_concurrency(s.rate * miss, warm_auth) if s.prewarm else 0
    r.provisioned = (p_claim, p_auth)
    # The account's limit is shared: the authorizer is given what its share of the traffic needs.
    auth_share = max(p_auth, round(s.account * miss * warm_auth / (miss * warm_auth + warm_claim)))
    auth = Function("authorizer", round(t_ms["cold_auth"]), warm_auth, auth_share, p_auth)
    claim = Function("claim", round(t_ms["cold_claim"]), warm_claim, s.account - auth_share, p_claim)
    per_shard = [s.stock // s.shards + (1 if i < s.stock % s.shards else 0) for i in range(s.shards)]
    bucket = [float(CLAIMS_PER_SHARD_PER_SECOND)] * s.shards
    api_tokens = float(s.api_burst)
    claim_queue: dict[int, list[tuple[int, int]]] = {}  # tick → [(arrival tick, n)] reaching the claim function
    retries: dict[int, list[tuple[int, int, int]]] = {}  # tick → [(arrival tick, n, attempt)]
    horizon = (ARRIVAL_S + DRAIN_S) * 1000

    def answer(arrived: int, now: int, n: int) -> None:
        r.latencies[now - arrived] = r.latencies.get(now - arrived, 0) + n

    def write(t: int, arrived: int, n: int, attempt: int, end_of_handler: int) -> None:
        """n claims reach DynamoDB at t: shards picked at random, each within its rate and stock.

        A claim that is answered frees its environment at `end_of_handler`; one that backs off keeps it.
        """
        over = 0
        for _ in range(n):
            i = rng.randrange(s.shards)
            if per_shard[i] <= 0:
                r.sold_out += 1
            elif bucket[i] >= 1:
                bucket[i] -= 1
                per_shard[i] -= 1
                r.won += 1
            else:
                over += 1
        done = n - over
        if over and attempt >= len(RETRY_BACKOFF_MS):
            r.ddb_failed += over
            done, over = n, 0
        if done:
            answer(arrived, end_of_handler, done)
            claim.hold(end_of_handler, done)
        if over:
            r.ddb_retries += over
            retries.setdefault(t + RETRY_BACKOFF_MS[attempt], []).append((arrived, over, attempt + 1))

    for t in range(horizon):
        auth.tick(t)
        claim.tick(t)
        for i in range(s.shards):
            bucket[i] = min(CLAIMS_PER_SHARD_PER_SECOND, bucket[i] + CLAIMS_PER_SHARD_PER_SECOND / 1000)
        api_tokens = min(s.api_burst, api_tokens + s.api_rate / 1000)
        if t < ARRIVAL_S * 1000:
            n = _poisson(rng, s.rate / 1000)
            admitted = min(n, int(api_tokens))
            api_tokens -= admitted
            r.api_throttled += n - admitted
            hits = round(admitted * AUTH_CACHE_HIT)
            if hits:
                claim_queue.setdefault(t, []).append((t, hits))
            warm, cold = auth.take(t, admitted - hits)
            r.lambda_throttled += admitted - hits - warm - cold
            if warm:
                auth.hold(t + warm_auth, warm)
                claim_queue.setdefault(t + warm_auth, []).append((t, warm))
            if cold:
                auth.hold(t + auth.cold_ms + warm_auth, cold)
                claim_queue.setdefault(t + auth.cold_ms + warm_auth, []).append((t, cold))
        for arrived, n in claim_queue.pop(t, []):
            warm, cold = claim.take(t, n)
            r.lambda_throttled += n - warm - cold
            for count, start in ((warm, t), (cold, t + claim.cold_ms)):
                if count:
                    write(start + warm_claim // 2, arrived, count, 0, start + warm_claim)
        for arrived, n, attempt in retries.pop(t, []):
            # These claims kept their environment while backing off; it is freed when they finish.
            write(t, arrived, n, attempt, t + warm_claim // 2)
    r.oversell = max(0, r.won - s.stock)
    r.peak_claim, r.peak_auth = claim.peak, auth.peak
    return r


def _api_limits() -> tuple[int, int]:
    from local.stack import load_stack

    api = load_stack().doc["Resources"]["StoreLoopApi"]["Properties"]
    setting = api["MethodSettings"][0]
    return int(setting["ThrottlingRateLimit"]), int(setting["ThrottlingBurstLimit"])


def main() -> None:
    t_ms = measure()
    print(f"measured here: claim cold init {t_ms['cold_claim']:.0f} ms, warm {t_ms['warm_claim']:.1f} ms; "
          f"authorizer cold init {t_ms['cold_auth']:.0f} ms, warm {t_ms['warm_auth']:.1f} ms")
    api_rate, api_burst = _api_limits()
    stock = 100_000
    print(f"model: API Gateway {api_rate} rps / burst {api_burst} (template), account concurrency "
          f"{ACCOUNT_CONCURRENCY}, stock {stock} on {MAX_STOCK_SHARDS} shards, authorizer cache hit "
          f"{AUTH_CACHE_HIT:.0%}, arrivals for {ARRIVAL_S} s")
    head = (f"{'scenario':34} {'p50 ms':>7} {'p99 ms':>7} {'won':>7} {'sold out':>8} {'429 api':>8} "
            f"{'429 λ':>7} {'503 ddb':>7} {'oversell':>8} {'peak λ':>7} {'prov.':>11}")
    print(head)
    scenarios = [Scenario(rate, pre, stock, MAX_STOCK_SHARDS, api_rate, api_burst,
                          label=f"{rate // 1000}k/s {'pre-warmed' if pre else 'from cold'}")
                 for rate in (10_000, 50_000, 100_000) for pre in (False, True)]
    need_shards = shards_for(100_000)
    need_envs = provisioned_concurrency(100_000, t_ms["warm_claim"], cap=10**9)
    scenarios.append(Scenario(100_000, True, 1_000_000, need_shards, 100_000, 50_000,
                              account=max(ACCOUNT_CONCURRENCY, need_envs * 2),
                              label=f"100k/s, {need_shards} shards, quotas raised"))
    for s in scenarios:
        r = simulate(s, t_ms)
        assert r.oversell == 0, f"oversold {r.oversell} in {s.label}"
        print(f"{s.label:34} {r.pct(0.5):7.0f} {r.pct(0.99):7.0f} {r.won:7} {r.sold_out:8} "
              f"{r.api_throttled:8} {r.lambda_throttled:7} {r.ddb_failed:7} {r.oversell:8} "
              f"{r.peak_claim:7} {r.provisioned[0]:5}/{r.provisioned[1]:<5}")
    print(f"to hold 100k claims/s for one brand: {need_envs} warm claim environments "
          f"({provisioned_concurrency(100_000 * (1 - AUTH_CACHE_HIT), t_ms['warm_auth'], cap=10**9)} authorizer), "
          f"{need_shards} stock shards ({CLAIMS_PER_SHARD_PER_SECOND} claims/s each: "
          f"{math.ceil(need_shards / MAX_STOCK_SHARDS)} templates of {MAX_STOCK_SHARDS} shards), "
          f"API Gateway ≥ 100,000 rps, account concurrency ≥ {need_envs * 2}; without provisioning, Lambda's "
          f"scaling alone takes {seconds_to_reach(need_envs)} s to reach {need_envs} environments")


if __name__ == "__main__":
    main()
