"""Failed guesses are limited per caller and per target (429 RATE_LIMITED with Retry-After), counted in DynamoDB
with a TTL; honest traffic writes no counter. Limits: storeloop.services.guesses.LIMITS (and the README)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import boto3
import pytest
import requests

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.services import guesses
from storeloop.services.guesses import LIMITS

pytestmark = pytest.mark.notifiable


def counters(cloud):
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only
    return {i["PK"]["S"]: i for i in items if i["PK"]["S"].startswith("GUESS#")}


def error(resp):
    return resp.json()["error"]["code"]


def assert_limited(resp):
    assert resp.status == 429 and error(resp) == "RATE_LIMITED", resp.body
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 900


# ---------------------------------------------------------------------------------------------- pickup codes


def test_pickup_codes_per_order_then_per_clerk(client, actors, cloud, wechat):
    actors.store("s1")
    admin = actors.admin["token"]
    assert client.post("/admin/products", {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 9}},
                       token=admin).status == 201
    shopper = actors.member()
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    other_clerk = actors.staff("clerk-2", "clerk", ["s1"])["token"]

    def paid_order():
        oid = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]},
                          token=shopper["token"]).json()["order"]["order_id"]
        assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": oid}, timeout=10).status_code == 200
        code = client.get(f"/orders/{oid}", token=shopper["token"]).json()["pickup_code"]
        assert code
        return oid, code, "000000" if code != "000000" else "111111"

    oid, code, wrong = paid_order()
    per_order = LIMITS["pickup_code"].per_target
    for _ in range(per_order):
        resp = client.post(f"/orders/{oid}/pickup", {"pickup_code": wrong}, token=clerk)
        assert resp.status == 409 and error(resp) == "PICKUP_CODE_MISMATCH"
    # The order is out of guesses: the right code is refused too, for this clerk and for any other.
    assert_limited(client.post(f"/orders/{oid}/pickup", {"pickup_code": code}, token=clerk))
    assert_limited(client.post(f"/orders/{oid}/pickup", {"pickup_code": code}, token=other_clerk))
    assert client.get(f"/orders/{oid}", token=shopper["token"]).json()["status"] == "paid"

    # The clerk still has guesses left on other orders, up to the per-clerk limit.
    left = LIMITS["pickup_code"].per_caller - per_order
    second, code2, wrong2 = paid_order()
    third, code3, wrong3 = paid_order()
    for n in range(left):
        target, bad = (second, wrong2) if n < per_order - 1 else (third, wrong3)
        assert error(client.post(f"/orders/{target}/pickup", {"pickup_code": bad}, token=clerk)) == \
            "PICKUP_CODE_MISMATCH"
    assert_limited(client.post(f"/orders/{third}/pickup", {"pickup_code": code3}, token=clerk))
    # Another clerk, on an order with guesses left, is not held back by the first clerk's misses.
    assert client.post(f"/orders/{third}/pickup", {"pickup_code": code3}, token=other_clerk).status == 200

    items = counters(cloud)
    assert items and all(int(i["expires_at"]["N"]) > time.time() for i in items.values())  # TTL set
    assert all(int(i["expires_at"]["N"]) <= time.time() + 2 * 900 for i in items.values())


# ---------------------------------------------------------------------------------------------- coupon codes


def test_coupon_codes_that_name_nothing_are_limited_per_clerk(client, actors, cloud):
    actors.store("s1")
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    other = actors.staff("clerk-2", "clerk", ["s1"])["token"]
    limit = LIMITS["coupon_code"].per_caller
    for n in range(limit):
        resp = client.post("/verifications", {"code": f"{n:012d}", "store_id": "s1", "spend_fen": 100}, token=clerk)
        assert resp.status == 404 and error(resp) == "COUPON_NOT_FOUND"
    assert_limited(client.post("/verifications", {"code": "999999999999", "store_id": "s1", "spend_fen": 100},
                               token=clerk))
    # Per caller: another clerk of the store is still heard (the store's own limit is higher).
    resp = client.post("/verifications", {"code": "999999999999", "store_id": "s1", "spend_fen": 100}, token=other)
    assert resp.status == 404
    caller_keys = [k for k in counters(cloud) if k.startswith("GUESS#coupon_code#staff#")]
    store_keys = [k for k in counters(cloud) if k == "GUESS#coupon_code#store#s1"]
    assert len(caller_keys) == 2 and store_keys


def test_an_honest_verification_writes_no_counter(client, actors, cloud):
    actors.store("s1")
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    admin = actors.admin["token"]
    t = client.post("/admin/coupon-templates", {"name": "c", "kind": "cash_off", "amount_off_fen": 500,
                                                "total_stock": 5, "validity": {"type": "relative", "days": 7}},
                    token=admin).json()
    start = clock.now()
    from datetime import timedelta

    c = client.post("/admin/campaigns", {"name": "c", "starts_at": to_rfc3339(start - timedelta(minutes=1)),
                                         "ends_at": to_rfc3339(start + timedelta(days=1)),
                                         "template_ids": [t["template_id"]]}, token=admin).json()
    assert client.post(f"/admin/campaigns/{c['campaign_id']}/publish", token=admin).status == 200
    shopper = actors.member()
    coupon = client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": t["template_id"]},
                         token=shopper["token"]).json()["coupon"]
    resp = client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 3000}, token=clerk)
    assert resp.status == 201, resp.body
    assert counters(cloud) == {}


# ---------------------------------------------------------------------------------------------- member codes


def test_member_codes_that_do_not_verify_are_limited_per_store(client, actors, cloud):
    actors.store("s1")
    secret = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]

    def post_sale(n, member_code):
        raw = json.dumps({"sale_id": f"S-{n}", "total_fen": 100, "items": [], "coupon_codes": [],
                          "member_code": member_code, "occurred_at": to_rfc3339(clock.now())}).encode()
        ts = str(int(time.time()))
        sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return client.request("POST", "/webhooks/pos/s1", raw=raw, headers={
            "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})

    for n in range(LIMITS["member_code"].per_caller):
        assert post_sale(n, f"forged-{n}").status == 400
    real = client.get("/me/member-code", token=actors.member()["token"]).json()["code"]
    assert_limited(post_sale(99, real))


# ---------------------------------------------------------------------------------------------- the helper


def test_the_window_ends_and_guessing_may_resume(client, cloud):
    """`guarded`/`check`/`record_failure` are what new routes (exchange codes) call; windows are fixed."""
    assert client.get("/health").status == 200  # binds the data layer to this stack, as any handler does
    limit = LIMITS["exchange_code"]
    start = 1_800_000_000 // limit.window_seconds * limit.window_seconds
    for _ in range(limit.per_caller):
        guesses.record_failure("exchange_code", "m_1", "mall-item-1", now=start + 1)
    with pytest.raises(Exception) as caught:
        guesses.check("exchange_code", "m_1", "mall-item-2", now=start + 10)
    assert caught.value.code == "RATE_LIMITED" and caught.value.headers["Retry-After"] == str(limit.window_seconds - 10)
    guesses.check("exchange_code", "m_2", "mall-item-2", now=start + 10)  # another caller, another target: fine
    guesses.check("exchange_code", "m_1", "mall-item-2", now=start + limit.window_seconds)  # the next window


def test_guarded_counts_only_wrong_guesses(client, cloud):
    assert client.get("/health").status == 200
    from storeloop.errors import Conflict, NotFound

    def wrong():
        raise NotFound("no such code", code="CODE_NOT_FOUND")

    def busy():
        raise Conflict("busy", code="SOMETHING_ELSE")

    for attempt in (wrong, busy, lambda: "ok"):
        try:
            guesses.guarded("exchange_code", "m_9", "t_9", attempt)
        except Exception:  # noqa: BLE001, S110 - the counters tell
            pass
    items = counters(cloud)
    assert {int(i["failures"]["N"]) for i in items.values()} == {1} and len(items) == 2
