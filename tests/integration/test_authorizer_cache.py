"""API Gateway's authorizer cache (ReauthorizeEvery) as the local gateway emulates it: one Lambda per request after
a token's first, and every change of access flushes the stage's cache so that it takes effect at once."""

from __future__ import annotations

from local.testing import ok

NO_COUPON = "000000000000"


def test_one_authorizer_run_per_token(cloud, client, actors) -> None:
    assert cloud.stack.authorizer_ttl == 300  # template.yaml: ReauthorizeEvery
    shopper = actors.member("cache-shopper")["token"]
    before = cloud.authorizer_invocations
    for path in ("/me", "/me/coupons", "/campaigns", "/me/points", "/me"):
        ok(client.get(path, token=shopper))  # different routes: the cached policy covers the whole API
    assert cloud.authorizer_invocations - before == 1
    other = actors.member("cache-other")["token"]
    ok(client.get("/me", token=other))
    assert cloud.authorizer_invocations - before == 2  # keyed by token
    assert client.get("/me", token=shopper + "x").status == 401  # a forged token is never served from the cache


def test_revoked_clerk_is_refused_at_once_with_a_cached_token(cloud, client, actors) -> None:
    actors.store("s1")
    clerk = actors.staff("cache-clerk", "clerk", ["s1"])["token"]
    verify = {"code": NO_COUPON, "store_id": "s1"}
    assert client.post("/verifications", verify, token=clerk).json()["error"]["code"] == "COUPON_NOT_FOUND"
    assert client.post("/verifications", verify, token=clerk).json()["error"]["code"] == "COUPON_NOT_FOUND"
    member_id = ok(client.get("/me", token=clerk))["member_id"]
    flushes = len(cloud.flushes.calls)
    ok(client.delete(f"/admin/staff/{member_id}", token=actors.admin["token"]))
    assert cloud.flushes.calls[flushes:] == [("local", "local")]  # the stage serving the request
    resp = client.post("/verifications", verify, token=clerk)
    assert resp.status == 403 and resp.json()["error"]["code"] == "NOT_STORE_STAFF"


def test_erased_member_is_refused_at_once_with_a_cached_token(cloud, client, actors) -> None:
    token = actors.member("cache-erased")["token"]
    ok(client.get("/me", token=token))
    ok(client.get("/me/coupons", token=token))
    assert ok(client.delete("/me", token=token))["status"] == "erased"
    assert client.get("/me/coupons", token=token).status == 401


def test_a_failed_flush_is_retried_then_left_to_the_ttl(cloud, client, actors) -> None:
    actors.store("s1")
    clerk = actors.staff("cache-flaky", "clerk", ["s1"])["token"]
    member_id = ok(client.get("/me", token=clerk))["member_id"]
    cloud.flushes.fail_next(1)  # the control plane's rate limit: botocore retries once, and it goes through
    flushes = len(cloud.flushes.calls)
    ok(client.delete(f"/admin/staff/{member_id}", token=actors.admin["token"]))
    assert len(cloud.flushes.calls) - flushes == 2
    assert client.post("/verifications", {"code": NO_COUPON, "store_id": "s1"}, token=clerk).status == 403
    cloud.flushes.fail_next(10)  # still refused after the retries: the revocation stands, the answer is 200
    assert client.post("/admin/staff", {"member_id": member_id, "role": "clerk", "store_ids": ["s1"]},
                       token=actors.admin["token"]).status == 201
    assert len(cloud.flushes.calls) - flushes == 2 + 3  # botocore's standard mode: 3 attempts, no loop of ours
