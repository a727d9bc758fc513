"""The till's returns and stock counts under real threads: a return racing online orders that spend the same
member's points never overdraws them and keeps the ledger equal to the balance; copies of one return apply once;
stock updates racing in any order end at the newest count."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.contention.racing import all_at_once
from tests.integration.test_webhooks import pos_post

pytestmark = pytest.mark.notifiable


@pytest.fixture
def till(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    body = {"sku": "cookie", "name": "曲奇", "price_fen": 800, "stock": {"s1": 50}}
    assert client.post("/admin/products", body, token=admin).status == 201
    secret = client.post("/admin/stores/s1/pos-secret", token=admin).json()["secret"]
    shopper = actors.member()
    code = client.get("/me/member-code", token=shopper["token"]).json()["code"]
    sale = {"sale_id": "S-1", "member_code": code, "total_fen": 10000,
            "items": [{"sku": "latte", "qty": 4, "price_fen": 2500}], "coupon_codes": [],
            "occurred_at": to_rfc3339(clock.now())}
    assert pos_post(client, "/webhooks/pos/s1", sale, secret).json()["points_earned"] == 100
    return {"secret": secret, "token": shopper["token"]}


def a_return(return_id, qty):
    return {"return_id": return_id, "sale_id": "S-1", "items": [{"sku": "latte", "qty": qty, "price_fen": 2500}],
            "total_fen": qty * 2500, "occurred_at": to_rfc3339(clock.now())}


def balance_and_ledger(client, token):
    points = client.get("/me", token=token).json()["points"]
    entries = client.get("/me/points", token=token, query={"limit": 100}).json()["items"]
    return points, entries


def test_a_till_return_racing_online_orders_for_the_same_points(client, till):
    token = till["token"]
    cookie_for_30 = {"store_id": "s1", "items": [{"sku": "cookie", "qty": 1}], "points": 30}

    def act(i):
        if i == 0:
            return pos_post(client, "/webhooks/pos/s1/returns", a_return("R-1", 4), till["secret"])
        return client.post("/orders", cookie_for_30, token=token)

    results = all_at_once(6, act)
    returned, orders = results[0], results[1:]
    assert returned.status == 200, returned.body
    placed = sum(1 for r in orders if r.status == 201)
    assert all(r.status == 201 or (r.status == 409 and r.json()["error"]["code"] == "INSUFFICIENT_POINTS")
               for r in orders), [r.body for r in orders]
    assert placed <= 3  # 100 points hold three 30-point orders at most
    taken, shortfall = returned.json()["points_clawed_back"], returned.json()["points_shortfall"]
    assert taken + shortfall == 100  # the whole sale returned: all it earned is due back
    points, entries = balance_and_ledger(client, token)
    assert points == 100 - 30 * placed - taken >= 0
    assert sum(e["delta"] for e in entries) == points  # the ledger adds up to the balance
    assert Counter(e["reason"] for e in entries) == Counter({"pos_sale_earned": 1, "order_points_used": placed,
                                                             "pos_return_clawback": 1})


def test_copies_of_one_return_apply_once(client, till):
    body = a_return("R-1", 2)  # copies are the same bytes
    results = all_at_once(8, lambda i: pos_post(client, "/webhooks/pos/s1/returns", body, till["secret"]))
    ok = [r for r in results if r.status == 200]
    assert ok and all(r.status in (200, 409) for r in results), [r.body for r in results]
    assert {r.body for r in ok} == {ok[0].body} and ok[0].json()["points_clawed_back"] == 50
    busy = [r.json()["error"]["code"] for r in results if r.status == 409]
    assert set(busy) <= {"IDEMPOTENCY_IN_PROGRESS"}
    points, entries = balance_and_ledger(client, till["token"])
    assert points == 50 and [e["reason"] for e in entries].count("pos_return_clawback") == 1


def test_stock_updates_racing_in_any_order_end_at_the_newest(client, actors, till):
    sequences = list(range(1, 13))
    random.Random(7).shuffle(sequences)

    def send(i):
        seq = sequences[i]
        body = {"update_id": f"U-{seq}", "sequence": seq, "counts": {"cookie": 100 + seq},
                "occurred_at": to_rfc3339(clock.now())}
        return pos_post(client, "/webhooks/pos/s1/stock", body, till["secret"])

    results = all_at_once(len(sequences), send)
    assert all(r.status in (200, 409) for r in results), [r.body for r in results]
    applied = [sequences[i] for i, r in enumerate(results) if r.status == 200 and r.json()["applied"]]
    assert max(sequences) in applied or any(r.status == 409 for r in results)
    items = client.get("/stores/s1/products", token=till["token"]).json()["items"]
    assert {p["sku"]: p["stock"] for p in items} == {"cookie": 100 + 12}


def test_a_till_return_racing_an_online_refund_for_the_same_points(client, actors, till, wechat):
    import requests

    token = till["token"]
    placed = client.post("/orders", {"store_id": "s1", "items": [{"sku": "cookie", "qty": 8}]}, token=token)
    oid = placed.json()["order"]["order_id"]  # ¥64: 64 points when paid
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": oid}, timeout=10).status_code == 200
    assert client.get("/me", token=token).json()["points"] == 164

    def act(i):
        if i == 0:
            return pos_post(client, "/webhooks/pos/s1/returns", a_return("R-1", 4), till["secret"])
        return client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=actors.admin["token"])

    returned, refund = all_at_once(2, act)
    assert returned.status == 200 and refund.status == 200, (returned.body, refund.body)
    assert wechat.pay.wait_for_deliveries()  # the refund notification, racing what is left of the return
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"
    points, entries = balance_and_ledger(client, token)
    assert points == 0 and sum(e["delta"] for e in entries) == 0
    assert returned.json()["points_clawed_back"] == 100
