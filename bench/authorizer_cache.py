"""Lambdas per API call through the authorizer: with API Gateway's cache (ReauthorizeEvery) against without it.

What it measures, in one run against one local cloud: a shopper's session of SESSION calls over several routes
(the gateway emulation caches the authorizer's answer per token for the template's ReauthorizeEvery, as API
Gateway does), counting the handler invocations and the authorizer invocations; then the same session with the
cache off (TTL 0, the template before). Goal: 1 Lambda per request after the first.
"""

from __future__ import annotations

import os

SESSION = int(os.environ.get("BENCH_AUTH_CALLS", "50"))
ROUTES = ("/me", "/campaigns", "/me/coupons", "/me/points", "/stores?city=%E4%B8%8A%E6%B5%B7")


def _session(cloud, client, token: str) -> tuple[int, int]:
    before = cloud.authorizer_invocations
    for i in range(SESSION):
        resp = client.get(ROUTES[i % len(ROUTES)], token=token)
        assert resp.status == 200, resp.body
    return SESSION, cloud.authorizer_invocations - before


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from local.apigw import ApiGateway
    from local.cloud import LocalCloud
    from local.testing import TestClient
    from local.wechat_fake import WeChatFake

    wechat = WeChatFake(port=0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url).start()
    try:
        client = TestClient(ApiGateway(cloud))
        ttl = cloud.stack.authorizer_ttl
        calls, auth = _session(cloud, client, client.login("bench-cache-1")["token"])
        cloud.stack.authorizer_ttl = 0  # the cache off: every call runs the authorizer
        try:
            calls0, auth0 = _session(cloud, client, client.login("bench-cache-2")["token"])
        finally:
            cloud.stack.authorizer_ttl = ttl
        print(f"a session of {calls} calls over {len(ROUTES)} routes, one token")
        print(f"{'authorizer cache':24} {'authorizer runs':>16} {'Lambdas per call':>17}")
        print(f"{f'on (TTL {ttl} s)':24} {auth:16} {(calls + auth) / calls:17.2f}")
        print(f"{'off':24} {auth0:16} {(calls0 + auth0) / calls0:17.2f}")
        print(f"after the first call: {(calls - 1 + auth - 1) / (calls - 1):.2f} Lambdas per call (goal 1)")
    finally:
        cloud.stop()
        wechat.stop()


if __name__ == "__main__":
    main()
