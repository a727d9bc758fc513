"""The order payment flow in Step Functions (moto runs the real ASL; its Lambda task comes back to ExpireOrder):
an unpaid order is cancelled after ORDER_PAYMENT_TIMEOUT_SECONDS with everything released once, a payment racing
the timeout ends in one consistent state, and a payment after the cancel is refunded automatically."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import boto3
import pytest
import requests

from local.cloud import REGION
from local.testing import wait_for_payment_flows
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

TIMEOUT = 1


pytestmark = pytest.mark.notifiable({"ORDER_PAYMENT_TIMEOUT_SECONDS": str(TIMEOUT)})


def place(client, token, qty=1, **extra):
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": qty}], **extra}, token=token)
    assert resp.status == 201, resp.body
    return resp.json()["order"]


def sim_pay(wechat, order_id):
    return requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).json()


def stock(client, token):
    return client.get("/stores/s1/products", token=token).json()["items"][0]["stock"]


def execution(cloud, order_id):
    arn = cloud.ref("OrderPaymentStateMachine").replace(":stateMachine:", ":execution:") + f":{order_id}"
    return boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def new_coupon(client, admin, token):
    t = client.post("/admin/coupon-templates", {"name": "¥5 off", "kind": "cash_off", "amount_off_fen": 500,
                                                "total_stock": 5, "validity": {"type": "relative", "days": 7}},
                    token=admin).json()
    starts = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "C", "starts_at": to_rfc3339(starts),
                                         "ends_at": to_rfc3339(starts + timedelta(days=2)),
                                         "template_ids": [t["template_id"]]}, token=admin).json()
    assert client.post(f"/admin/campaigns/{c['campaign_id']}/publish", token=admin).status == 200
    return client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": t["template_id"]},
                       token=token).json()["coupon"]


def test_the_flow_is_the_template_asl_waiting_on_the_input_timeout(cloud):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.loads(sfn.describe_state_machine(
        stateMachineArn=cloud.ref("OrderPaymentStateMachine"))["definition"])
    wait = definition["States"][definition["StartAt"]]
    assert wait["Type"] == "Wait" and wait["SecondsPath"] == "$.timeout_seconds"
    task = definition["States"][wait["Next"]]
    assert task["Parameters"]["FunctionName"].endswith(":function:ExpireOrderFunction")


def test_an_unpaid_order_is_cancelled_after_the_timeout_releasing_stock_points_and_coupon(client, actors, shop,
                                                                                          wechat, cloud):
    token = actors.member()["token"]
    first = place(client, token, qty=5)
    sim_pay(wechat, first["order_id"])  # 160 points to spend
    coupon = new_coupon(client, shop["admin"], token)
    o = place(client, token, qty=2, points=100, coupon_id=coupon["coupon_id"])
    assert stock(client, token) == 13 and client.get("/me", token=token).json()["points"] == 60
    started = time.monotonic()
    cancelled = wait_until(lambda: (r := client.get(f"/orders/{o['order_id']}", token=token).json())["status"]
                           == "cancelled" and r)
    assert time.monotonic() - started >= TIMEOUT - 0.5  # not before the timeout
    assert cancelled["cancelled_at"]
    assert stock(client, token) == 15 and client.get("/me", token=token).json()["points"] == 160
    statuses = {c["coupon_id"]: c["status"] for c in client.get("/me/coupons", token=token).json()["items"]}
    assert statuses[coupon["coupon_id"]] == "active"
    done = wait_until(lambda: (e := execution(cloud, o["order_id"]))["status"] != "RUNNING" and e)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"])["outcome"] == "cancelled"
    # Running the task again (a Step Functions retry) releases nothing twice.
    assert cloud.invoke("ExpireOrderFunction", {"order_id": o["order_id"]})["outcome"] == "already_cancelled"
    assert stock(client, token) == 15 and client.get("/me", token=token).json()["points"] == 160


def test_a_paid_order_outlives_its_timer(client, actors, shop, wechat, cloud):
    token = actors.member()["token"]
    o = place(client, token)
    assert sim_pay(wechat, o["order_id"])["status"] == 200
    done = wait_until(lambda: (e := execution(cloud, o["order_id"]))["status"] != "RUNNING" and e)
    assert json.loads(done["output"]) == {"order_id": o["order_id"], "outcome": "already_paid"}
    assert client.get(f"/orders/{o['order_id']}", token=token).json()["status"] == "paid"
    assert stock(client, token) == 19


def test_a_payment_after_the_timeout_cancel_is_refunded_automatically(client, actors, shop, wechat, cloud):
    token = actors.member()["token"]
    o = place(client, token, qty=3)
    wait_until(lambda: client.get(f"/orders/{o['order_id']}", token=token).json()["status"] == "cancelled")
    assert stock(client, token) == 20
    assert sim_pay(wechat, o["order_id"])["status"] == 200  # the shopper paid at the last second
    assert wechat.pay.wait_for_deliveries()
    final = client.get(f"/orders/{o['order_id']}", token=token).json()
    assert final["status"] == "refunded" and final["pickup_code"] is None and final["points_earned"] is None
    txn = next(t for t in wechat.pay.transactions() if t["out_trade_no"] == o["order_id"])
    assert [r["amount"]["refund"] for r in txn["refunds"]] == [9600]
    me = client.get("/me", token=token).json()
    assert me["points"] == 0 and me["lifetime_spend_fen"] == 0 and me["is_member"] is False
    assert stock(client, token) == 20  # released once, by the cancel
    sim_pay(wechat, o["order_id"])  # WeChat sends the success again: still one refund
    assert wechat.pay.wait_for_deliveries()
    txn = next(t for t in wechat.pay.transactions() if t["out_trade_no"] == o["order_id"])
    assert len(txn["refunds"]) == 1
    resp = client.post(f"/orders/{o['order_id']}/refund", {"reason": "x"}, token=actors.admin["token"])
    assert resp.status == 409 and resp.json()["error"]["code"] == "ALREADY_REFUNDED"


def test_payments_racing_the_timeout_each_end_in_one_consistent_state(client, actors, shop, wechat, cloud):
    token = actors.member()["token"]
    # Each paid around the moment its own timer fires: some well before, some right at it, some just after.
    offsets = [-0.6, -0.3, -0.15, -0.05, 0.0, 0.05, 0.15, 0.4]
    orders, threads = [], []
    for offset in offsets:
        orders.append(place(client, token, qty=1))
        threads.append(threading.Timer(TIMEOUT + offset, sim_pay, args=(wechat, orders[-1]["order_id"])))
        threads[-1].start()
    for t in threads:
        t.join()
    assert wait_for_payment_flows(cloud, 10)
    assert wechat.pay.wait_for_deliveries()
    finals = [client.get(f"/orders/{o['order_id']}", token=token).json() for o in orders]
    paid = [f for f in finals if f["status"] == "paid"]
    refunded = [f for f in finals if f["status"] == "refunded"]
    assert len(paid) + len(refunded) == len(orders), [f["status"] for f in finals]
    assert all(f["cancelled_at"] and f["points_earned"] is None for f in refunded)
    assert all(f["cancelled_at"] is None and f["pickup_code"] for f in paid)
    # Stock held only by the paid ones; points earned only by the paid ones; one refund per refunded one.
    assert stock(client, token) == 20 - len(paid)
    assert client.get("/me", token=token).json()["points"] == 32 * len(paid)
    refunds = {t["out_trade_no"]: len(t["refunds"]) for t in wechat.pay.transactions()}
    assert all(refunds[f["order_id"]] == 1 for f in refunded) and all(refunds[f["order_id"]] == 0 for f in paid)


def test_the_expire_task_is_safe_for_unknown_orders_and_refuses_bad_input(cloud):
    assert cloud.invoke("ExpireOrderFunction", {"order_id": "ord_nope"}) == {"order_id": "ord_nope",
                                                                             "outcome": "not_found"}
    with pytest.raises(ValueError):
        cloud.invoke("ExpireOrderFunction", {})
