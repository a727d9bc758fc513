"""POST /webhooks/pos/{store_id}/stock: the till's absolute counts, signed as sales are, applied as
count − reserved (units of unfinished orders are on the shelf but already out of online stock), ordered per sku by
the till's sequence (an older update never overwrites a newer one), and replay-safe."""

from __future__ import annotations

import json
import time

import boto3
import pytest
import requests

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.integration.test_webhooks import pos_post

pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    """Store s1 with its POS secret, selling a latte (5 at s1) and a cookie (10 at s1)."""
    actors.store("s1")
    admin = actors.admin["token"]
    for body in ({"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5}},
                 {"sku": "cookie", "name": "曲奇", "price_fen": 800, "stock": {"s1": 10}}):
        assert client.post("/admin/products", body, token=admin).status == 201
    return client.post("/admin/stores/s1/pos-secret", token=admin).json()["secret"]


def stock(client, token):
    return {p["sku"]: p["stock"] for p in client.get("/stores/s1/products", token=token).json()["items"]}


def update(client, secret, sequence, counts, update_id=None):
    body = {"update_id": update_id or f"U-{sequence}", "sequence": sequence, "counts": counts,
            "occurred_at": to_rfc3339(clock.now())}
    return pos_post(client, "/webhooks/pos/s1/stock", body, secret)


def order(client, token, sku, qty):
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": sku, "qty": qty}]}, token=token)
    assert resp.status == 201, resp.body
    return resp.json()["order"]["order_id"]


def test_counts_are_applied_without_counting_reserved_units_twice(client, actors, shop, wechat):
    shopper = actors.member()["token"]
    held = order(client, shopper, "latte", 2)  # placed, unpaid: 2 reserved, 3 left online
    assert stock(client, shopper)["latte"] == 3
    resp = update(client, shop, 1, {"latte": 12, "cookie": 4})
    assert resp.status == 200, resp.body
    assert resp.json() == {"applied": ["cookie", "latte"], "stale": [], "unknown": []}
    assert stock(client, shopper) == {"latte": 10, "cookie": 4}  # 12 on the shelf, 2 of them held for the order
    # The order is cancelled: its 2 units come back to online stock; the shelf is still 12, and so is stock.
    assert client.post(f"/orders/{held}/cancel", token=shopper).status == 200
    assert stock(client, shopper)["latte"] == 12
    # A paid order handed over: the units leave the shelf; the next count (11) is not lowered again by it.
    paid = order(client, shopper, "latte", 1)
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": paid}, timeout=10).status_code == 200
    assert stock(client, shopper)["latte"] == 11
    code = client.get(f"/orders/{paid}", token=shopper).json()["pickup_code"]
    assert client.post(f"/orders/{paid}/pickup", {"pickup_code": code}, token=actors.admin["token"]).status == 200
    assert update(client, shop, 2, {"latte": 11}).json()["applied"] == ["latte"]
    assert stock(client, shopper)["latte"] == 11
    # More held than counted: online stock is zero, never negative.
    order(client, shopper, "latte", 5)
    update(client, shop, 3, {"latte": 3})
    assert stock(client, shopper)["latte"] == 0


def test_an_older_update_never_overwrites_a_newer_one(client, actors, shop):
    token = actors.member()["token"]
    assert update(client, shop, 20, {"latte": 7}).json()["applied"] == ["latte"]
    late = update(client, shop, 19, {"latte": 99, "cookie": 3})  # sent before, arrived after
    assert late.status == 200 and late.json() == {"applied": ["cookie"], "stale": ["latte"], "unknown": []}
    assert stock(client, token) == {"latte": 7, "cookie": 3}
    same = update(client, shop, 20, {"latte": 50}, update_id="U-other")  # another update claiming the same sequence
    assert same.json()["stale"] == ["latte"] and stock(client, token)["latte"] == 7
    assert update(client, shop, 21, {"latte": 6}).json()["applied"] == ["latte"]
    assert stock(client, token)["latte"] == 6


def test_the_same_update_again_answers_the_same_and_changes_nothing(client, actors, shop):
    token = actors.member()["token"]
    body = {"update_id": "U-1", "sequence": 1, "counts": {"latte": 8, "nope": 1},
            "occurred_at": to_rfc3339(clock.now())}
    first = pos_post(client, "/webhooks/pos/s1/stock", body, shop)
    assert first.status == 200 and first.json() == {"applied": ["latte"], "stale": [], "unknown": ["nope"]}
    update(client, shop, 2, {"latte": 4})
    again = pos_post(client, "/webhooks/pos/s1/stock", body, shop)
    assert again.status == 200 and again.json() == first.json()
    assert stock(client, token)["latte"] == 4  # the replay did not put the old count back
    altered = pos_post(client, "/webhooks/pos/s1/stock", {**body, "counts": {"latte": 1}}, shop)
    assert altered.status == 409 and altered.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert stock(client, token)["latte"] == 4


def test_unsigned_stale_or_bad_updates_change_nothing(client, actors, shop, cloud):
    token = actors.member()["token"]
    body = json.dumps({"update_id": "U-1", "sequence": 1, "counts": {"latte": 1},
                       "occurred_at": to_rfc3339(clock.now())}).encode()
    old = str(int(time.time()) - 301)
    for headers in ({}, {"X-StoreLoop-Timestamp": str(int(time.time())), "X-StoreLoop-Signature": "00" * 32},
                    {"X-StoreLoop-Timestamp": old, "X-StoreLoop-Signature": "00" * 32}):
        resp = client.request("POST", "/webhooks/pos/s1/stock", raw=body,
                              headers={"Content-Type": "application/json", **headers})
        assert resp.status == 401, resp.body
    for bad in ({"update_id": "U-2", "sequence": -1, "counts": {"latte": 1}, "occurred_at": to_rfc3339(clock.now())},
                {"update_id": "U-2", "sequence": 1, "counts": {"latte": -3}, "occurred_at": to_rfc3339(clock.now())},
                {"update_id": "U-2", "sequence": 1, "counts": {}, "occurred_at": to_rfc3339(clock.now())},
                {"update_id": "U-2", "sequence": "1", "counts": {"latte": 1}, "occurred_at": to_rfc3339(clock.now())},
                {"update_id": "U-2", "sequence": 1, "counts": {"latte": 1}, "occurred_at": "yesterday"}):
        resp = pos_post(client, "/webhooks/pos/s1/stock", bad, shop)
        assert resp.status == 400, (bad, resp.body)
    assert pos_post(client, "/webhooks/pos/nowhere/stock", json.loads(body), shop).status == 404
    assert stock(client, token) == {"latte": 5, "cookie": 10}
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only
    assert not [i for i in items if i["PK"]["S"].startswith("POSSTOCK#")]
