"""Recommendations through the routes: co-purchase counts from paid orders on the stream, the fallbacks, stock and
the 30-day rule; and the pure bounded counting rule."""

from __future__ import annotations

import pytest
import requests

from storeloop.domain.copurchase import NEIGHBOURS, neighbour_updates, ranked, space_saving

pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    actors.store("s2")
    admin = actors.admin["token"]
    for sku, stock in (("x", {"s1": 50, "s2": 50}), ("y", {"s1": 50, "s2": 0}), ("z", {"s1": 50, "s2": 50}),
                       ("w", {"s1": 50, "s2": 50})):
        body = {"sku": sku, "name": f"商品{sku}", "price_fen": 1000, "stock": stock}
        assert client.post("/admin/products", body, token=admin).status == 201
    return admin


def buy(client, wechat, who, *skus, store="s1"):
    order = client.post("/orders", {"store_id": store, "items": [{"sku": s, "qty": 1} for s in skus]},
                        token=who["token"])
    assert order.status == 201, order.body
    resp = requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order.json()["order"]["order_id"]},
                         timeout=10)
    assert resp.status_code == 200, resp.text


def recs(client, who, store="s1", **q):
    query = "&".join(f"{k}={v}" for k, v in {"store_id": store, **q}.items())
    resp = client.get(f"/me/recommendations?{query}", token=who["token"])
    assert resp.status == 200, resp.body
    return [(i["sku"], i["reason"]) for i in resp.json()["items"]]


def test_bought_together_then_fallbacks(cloud, client, actors, wechat, shop):
    a, b, c = actors.member("rec-a"), actors.member("rec-b"), actors.member("rec-c")
    buy(client, wechat, a, "x", "y")
    buy(client, wechat, b, "x", "y")
    buy(client, wechat, b, "z", "w")
    buy(client, wechat, c, "x")
    cloud.drain_streams()
    got = recs(client, c)
    assert got[0] == ("y", "bought_together")  # A and B bought X with Y; C bought X
    assert "x" not in [s for s, _ in got]  # never what C bought in the last 30 days
    # A new member: the store's best sellers (x and y sold 3 and 2), then the newest products.
    new = recs(client, actors.member("rec-new"))
    assert new[0] == ("x", "popular_at_store") and new[1] == ("y", "popular_at_store")
    assert {s for s, _ in new} == {"x", "y", "z", "w"}
    # Only what the store has in stock: y is out at s2.
    assert "y" not in [s for s, _ in recs(client, c, store="s2")]
    related = client.get("/products/x/related?store_id=s1", token=c["token"]).json()["items"]
    assert related[0]["sku"] == "y" and related[0]["reason"] == "bought_together"


def test_redelivered_sale_counts_once(cloud, client, actors, wechat, shop):
    a = actors.member("rec-once")
    buy(client, wechat, a, "x", "y")
    cloud.drain_streams()
    from storeloop.data import recommendations as data

    before = data.neighbours(["x", "y"])
    assert before == {"x": {"y": 1}, "y": {"x": 1}}
    order = client.get("/me/orders", token=a["token"]).json()["items"][0]
    record = {"eventName": "MODIFY", "dynamodb": {
        "Keys": {"PK": {"S": f"ORDER#{order['order_id']}"}, "SK": {"S": "ORDER"}}, "SequenceNumber": "9",
        "OldImage": {"status": {"S": "pending_payment"}},
        "NewImage": {"status": {"S": "paid"}, "order_id": {"S": order["order_id"]}, "store_id": {"S": "s1"},
                     "member_id": {"S": a["member_id"]}, "paid_at": {"S": "2026-12-01T12:00:00+08:00"},
                     "items": {"L": [{"M": {"sku": {"S": "x"}, "qty": {"N": "1"}}},
                                     {"M": {"sku": {"S": "y"}, "qty": {"N": "1"}}}]}}}}
    assert cloud.invoke("JourneysStreamFunction", {"Records": [record]}) == {"batchItemFailures": []}
    assert data.neighbours(["x", "y"]) == before


def test_bad_input(client, actors, shop):
    who = actors.member("rec-bad")
    assert client.get("/me/recommendations", token=who["token"]).status == 400  # store_id is required
    assert client.get("/me/recommendations?store_id=nope", token=who["token"]).status == 404
    assert client.get("/me/recommendations?store_id=s1&limit=0", token=who["token"]).status == 400
    assert client.get("/products/nope/related?store_id=s1", token=who["token"]).status == 404
    assert client.get("/me/recommendations?store_id=s1").status == 401


# ---------------------------------------------------------------------------------------------- the rule (pure)


def test_space_saving_keeps_the_heavy_hitters_bounded():
    counts: dict[str, int] = {}
    for i in range(10_000):  # one frequent neighbour among thousands of rare ones
        counts = space_saving(counts, ["hot"] if i % 3 == 0 else [f"rare{i}"])
    assert len(counts) <= NEIGHBOURS
    assert ranked(counts)[0] == "hot"
    assert counts["hot"] >= 10_000 // 3  # never under its true count


def test_pairs_of_a_basket():
    assert neighbour_updates(["a", "b", "a"]) == {"a": ["b"], "b": ["a"]}
    assert neighbour_updates(["a"]) == {}
    assert len(neighbour_updates([str(i) for i in range(100)])) == 20  # baskets count their first 20 products
