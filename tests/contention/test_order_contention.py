"""Order invariants under real threads through the routes: stock never oversold, points never below zero, an order
paid once however many notifications race, cancel and pay on one order ending in one state, one refund; and the
analytics the stream produced count exactly the orders paid (the store's orders, revenue and refunds)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from local.cloud import REGION
from local.merchant_keys import merchant
from storeloop.wechat.pay import build_notification
from tests.contention.racing import all_at_once, store_totals

PAY = merchant()
PLATFORM_KEY = PAY.platform_private_key_pem


pytestmark = pytest.mark.notifiable




@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5}}
    assert client.post("/admin/products", body, token=actors.admin["token"]).status == 201


def stock(client, token):
    return client.get("/stores/s1/products", token=token).json()["items"][0]["stock"]


def orders_in_table(cloud):
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only
    return [i for i in items if i["PK"]["S"].startswith("ORDER#")]


def sales(cloud, client, actors):
    totals = store_totals(cloud, client, actors.admin["token"], "s1")
    return totals["orders"], totals["revenue_fen"], totals["refunds"]


def sim_pay(wechat, order_id):
    return requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=30).json()


def test_20_concurrent_orders_on_stock_5_make_5_orders_and_15_out_of_stock(client, actors, shop, cloud):
    with ThreadPoolExecutor(max_workers=10) as pool:
        shoppers = list(pool.map(lambda i: actors.member(f"buyer-{i}")["token"], range(20)))
    one_latte = {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]}
    results = all_at_once(20, lambda i: client.post("/orders", one_latte, token=shoppers[i]))
    assert Counter(r.status for r in results) == {201: 5, 409: 15}, [r.body for r in results]
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"OUT_OF_STOCK"}
    assert stock(client, shoppers[0]) == 0
    assert len(orders_in_table(cloud)) == 5
    # Each order belongs to the shopper who placed it.
    for token, r in zip(shoppers, results, strict=True):
        if r.status == 201:
            assert client.get(f"/orders/{r.json()['order']['order_id']}", token=token).status == 200
    assert sales(cloud, client, actors) == (0, 0, 0)  # placed, none paid

def test_concurrent_orders_spending_points_never_overdraw(client, actors, shop, wechat, cloud):
    admin = actors.admin["token"]
    client.post("/admin/products", {"sku": "cookie", "name": "曲奇", "price_fen": 800, "stock": {"s1": 100}},
                token=admin)
    token = actors.member()["token"]
    first = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 3}]}, token=token).json()
    sim_pay(wechat, first["order"]["order_id"])  # 96 points
    cookie_for_30_points = {"store_id": "s1", "items": [{"sku": "cookie", "qty": 1}], "points": 30}
    results = all_at_once(10, lambda i: client.post("/orders", cookie_for_30_points, token=token))
    assert Counter(r.status for r in results) == {201: 3, 409: 7}
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"INSUFFICIENT_POINTS"}
    ledger = client.get("/me/points", token=token, query={"limit": 100}).json()
    assert ledger["balance"] == 6 == sum(e["delta"] for e in ledger["items"])
    assert sales(cloud, client, actors) == (1, 9600, 0)  # the one paid order; the three spending points are unpaid


def test_concurrent_copies_of_the_notifications_of_several_orders_pay_each_once(client, actors, shop, cloud):
    tokens = [actors.member(f"payer-{i}")["token"] for i in range(3)]
    orders = [client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]}, token=t).json()
              ["order"]["order_id"] for t in tokens]
    # Five signed copies per order (WeChat retries carry new notification ids), all delivered at once.
    notes = [build_notification("TRANSACTION.SUCCESS", {
        "appid": PAY.appid, "mchid": PAY.mchid, "out_trade_no": oid, "transaction_id": f"42000000{n:020d}",
        "trade_state": "SUCCESS", "amount": {"total": 3200, "payer_total": 3200, "currency": "CNY"}},
        PAY.apiv3_key, PLATFORM_KEY, PAY.platform_serial) for n, oid in enumerate(orders) for _ in range(5)]
    answers = all_at_once(15, lambda i: client.request("POST", "/webhooks/wechatpay", raw=notes[i][1].encode(),
                                                       headers=notes[i][0]))
    assert [a.status for a in answers] == [200] * 15
    for token, oid in zip(tokens, orders, strict=True):
        assert client.get(f"/orders/{oid}", token=token).json()["status"] == "paid"
        ledger = client.get("/me/points", token=token).json()
        assert [(e["reason"], e["delta"]) for e in ledger["items"]] == [("order_points_earned", 32)]
    assert sales(cloud, client, actors) == (3, 9600, 0)  # 15 notifications, 3 orders paid once each


@pytest.mark.parametrize("round_", range(3))
def test_cancel_and_pay_racing_on_one_order_end_in_one_state(client, actors, shop, wechat, cloud, round_):
    token = actors.member()["token"]
    oid = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 2}]},
                      token=token).json()["order"]["order_id"]
    all_at_once(2, lambda i: sim_pay(wechat, oid) if i == 0 else client.post(f"/orders/{oid}/cancel", token=token))
    assert wechat.pay.wait_for_deliveries()
    final = client.get(f"/orders/{oid}", token=token).json()
    refunds = next(len(t["refunds"]) for t in wechat.pay.transactions() if t["out_trade_no"] == oid)
    points = client.get("/me", token=token).json()["points"]
    if final["status"] == "paid":
        assert (stock(client, token), points, refunds) == (3, 64, 0)
        assert sales(cloud, client, actors) == (1, 6400, 0)
    else:
        assert final["status"] == "refunded" and final["cancelled_at"]
        assert (stock(client, token), points, refunds) == (5, 0, 1)
        assert sales(cloud, client, actors) == (0, 0, 0)  # paid after it was cancelled: never a sale


def test_two_managers_refunding_at_once_refund_once(client, actors, shop, wechat, cloud):
    token = actors.member()["token"]
    oid = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]},
                      token=token).json()["order"]["order_id"]
    sim_pay(wechat, oid)
    managers = [actors.staff("mgr-a", "manager", ["s1"])["token"], actors.admin["token"]]
    results = all_at_once(6, lambda i: client.post(f"/orders/{oid}/refund", {"reason": "dup"},
                                                   token=managers[i % 2]))
    assert all(r.status in (200, 409) for r in results), [r.body for r in results]
    assert wechat.pay.wait_for_deliveries()
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"
    txn = next(t for t in wechat.pay.transactions() if t["out_trade_no"] == oid)
    assert len(txn["refunds"]) == 1
    assert stock(client, token) == 5
    ledger = client.get("/me/points", token=token).json()["items"]
    assert [e["reason"] for e in ledger] == ["refund_clawback", "order_points_earned"]
    assert sales(cloud, client, actors) == (1, 0, 1)  # paid once, refunded once: its revenue taken back once
