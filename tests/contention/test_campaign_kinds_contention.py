"""(issue 10) The campaign kinds' invariants under real threads, through the routes: a flash sale never oversells
nor exceeds its per-member limit, timeouts give units back once however often they run, a group never has more
paid members than its size, and parallel redemptions never take a balance below zero."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import boto3
import pytest
import requests

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.contention.racing import all_at_once

pytestmark = pytest.mark.notifiable


@pytest.fixture
def cloud(cloud):
    yield cloud
    # No group flow runs on into the next test's stack (the group here has a long window).
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for e in sfn.list_executions(stateMachineArn=cloud.ref("GroupBuyStateMachine"),
                                 statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=e["executionArn"])


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    for sku, price in (("latte", 3200), ("beans", 100_000)):
        body = {"sku": sku, "name": sku, "price_fen": price, "stock": {"s1": 50}}
        assert client.post("/admin/products", body, token=admin).status == 201
    return {"admin": admin}


def window():
    at = clock.now()
    return {"starts_at": to_rfc3339(at - timedelta(minutes=1)), "ends_at": to_rfc3339(at + timedelta(hours=1))}


def new_sale(client, admin, stock, limit):
    resp = client.post("/admin/flash-sales", {"sku": "latte", "store_ids": ["s1"], "price_fen": 990, "stock": stock,
                                              "per_member_limit": limit, **window()}, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()["flash_sale_id"]


def logins(client, prefix, n):
    """n logged-in shoppers (a login the loaded machine's WeChat fake answered too slowly is tried again)."""
    def one(i):
        for _ in range(3):
            resp = client.post("/auth/login", {"code": f"{prefix}-{i}"})
            if resp.status == 200:
                return resp.json()["token"]
        raise AssertionError(resp.body)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(n)))


def orders_in_table(cloud):
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only
    return [i for i in items if i["PK"]["S"].startswith("ORDER#")]


def sim_pay(wechat, order_id):
    return requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=30).json()


def test_200_threads_on_a_flash_sale_of_50_make_exactly_50_orders(client, actors, shop, cloud):
    sale = new_sale(client, shop["admin"], stock=50, limit=1)
    shoppers = logins(client, "buyer", 200)
    results = all_at_once(200, lambda i: client.post(f"/flash-sales/{sale}/orders", {"store_id": "s1"},
                                                     token=shoppers[i]))
    assert Counter(r.status for r in results) == {201: 50, 409: 150}, Counter(r.status for r in results)
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"SOLD_OUT"}
    assert client.get(f"/flash-sales/{sale}", token=shoppers[0]).json()["remaining"] == 0
    assert len(orders_in_table(cloud)) == 50
    assert len({r.json()["order"]["order_id"] for r in results if r.status == 201}) == 50


def test_one_member_20_parallel_buys_with_limit_1_make_one_order(client, actors, shop, cloud):
    sale = new_sale(client, shop["admin"], stock=100, limit=1)
    token = actors.member()["token"]
    results = all_at_once(20, lambda i: client.post(f"/flash-sales/{sale}/orders", {"store_id": "s1"}, token=token))
    assert Counter(r.status for r in results) == {201: 1, 409: 19}
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"PURCHASE_LIMIT_REACHED"}
    assert client.get(f"/flash-sales/{sale}", token=token).json()["remaining"] == 99
    assert len(orders_in_table(cloud)) == 1


def test_timeouts_and_cancels_racing_give_each_unit_back_once(client, actors, shop, cloud):
    sale = new_sale(client, shop["admin"], stock=5, limit=1)
    shoppers = logins(client, "late", 5)
    orders = [client.post(f"/flash-sales/{sale}/orders", {"store_id": "s1"}, token=t).json()["order"]["order_id"]
              for t in shoppers]
    assert client.get(f"/flash-sales/{sale}", token=shoppers[0]).json()["remaining"] == 0
    # Each order's timeout task three times at once (Step Functions retries) and its shopper cancelling.
    def race(i):
        n = i % 5
        if i < 15:
            return cloud.invoke("ExpireOrderFunction", {"order_id": orders[n]})["outcome"]
        return client.post(f"/orders/{orders[n]}/cancel", token=shoppers[n]).status
    outcomes = all_at_once(20, race)
    assert outcomes[:15].count("cancelled") + sum(1 for o in outcomes[15:] if o == 200) >= 5
    assert client.get(f"/flash-sales/{sale}", token=shoppers[0]).json()["remaining"] == 5
    statuses = {client.get(f"/orders/{o}", token=t).json()["status"] for o, t in zip(orders, shoppers, strict=True)}
    assert statuses == {"cancelled"}
    # The limit was given back with the unit: each may buy again, and the sale sells exactly 5 again.
    again = all_at_once(5, lambda i: client.post(f"/flash-sales/{sale}/orders", {"store_id": "s1"},
                                                 token=shoppers[i]))
    assert [r.status for r in again] == [201] * 5
    assert client.get(f"/flash-sales/{sale}", token=shoppers[0]).json()["remaining"] == 0


def test_parallel_payments_never_make_a_group_larger_than_its_size(client, actors, shop, wechat, cloud):
    offer = client.post("/admin/group-buys", {"sku": "latte", "store_ids": ["s1"], "group_size": 2, "price_fen": 2500,
                                              "hours": 30, **window()}, token=shop["admin"]).json()
    tokens = logins(client, "grp", 6)
    opened = client.post(f"/group-buys/{offer['group_buy_id']}/groups", {"store_id": "s1"}, token=tokens[0]).json()
    orders = [opened["order"]["order_id"]] + [
        client.post(f"/groups/{opened['group_id']}/join", token=t).json()["order"]["order_id"] for t in tokens[1:]]
    # Six shoppers paying at once for a group of two (each notification delivered signed, over HTTP).
    answers = all_at_once(6, lambda i: sim_pay(wechat, orders[i]))
    assert [a["status"] for a in answers] == [200] * 6, answers
    assert wechat.pay.wait_for_deliveries()
    group = client.get(f"/groups/{opened['group_id']}", token=tokens[0]).json()
    assert group["status"] == "formed" and group["members"] == 2
    finals = Counter(client.get(f"/orders/{o}", token=t).json()["status"] for o, t in zip(orders, tokens,
                                                                                       strict=True))
    assert finals == {"paid": 2, "refunded": 4}, finals
    refunds = {t["out_trade_no"]: len(t["refunds"]) for t in wechat.pay.transactions()}
    assert sorted(refunds[o] for o in orders) == [0, 0, 1, 1, 1, 1]
    assert client.get("/stores/s1/products", token=tokens[0]).json()["items"][1]["stock"] == 48


def test_20_parallel_redemptions_of_one_members_points_never_go_negative(client, actors, shop, wechat):
    reward = client.post("/admin/rewards", {"name": "豆", "points": 300, "kind": "gift", "sku": "latte",
                                            "stock": 100}, token=shop["admin"]).json()
    token = actors.member()["token"]
    order = client.post("/orders", {"store_id": "s1", "items": [{"sku": "beans", "qty": 1}]}, token=token).json()
    sim_pay(wechat, order["order"]["order_id"])  # 1,000 points
    assert client.get("/me", token=token).json()["points"] == 1000
    results = all_at_once(20, lambda i: client.post(f"/rewards/{reward['reward_id']}/redemptions",
                                                    {"store_id": "s1"}, token=token))
    assert Counter(r.status for r in results) == {201: 3, 409: 17}
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"INSUFFICIENT_POINTS"}
    ledger = client.get("/me/points", token=token, query={"limit": 100}).json()
    assert ledger["balance"] == 100 == sum(e["delta"] for e in ledger["items"])
    assert [e["delta"] for e in ledger["items"] if e["reason"] == "reward_redeemed"] == [-300] * 3
    assert client.get("/rewards", token=token).json()["items"][0]["remaining"] == 97
