"""(issue 10) Group buys through the routes, with the WeChat Pay fake and the group flow in Step Functions (moto
runs the real ASL; one of a group's hours lasts 2 s here): a group that forms and is picked up; one that fails and
refunds everyone; the last payment racing the deadline; a payment for a full group refunded automatically; joining
twice, joining a formed or failed group; bad input answered 4xx; the store's group counters."""

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

WINDOW = 2  # seconds: GROUP_BUY_HOUR_SECONDS (one "hour" of a group buy here)
LONG = 30  # hours (60 s): groups that must not reach their deadline during the test (their flows are stopped)


pytestmark = pytest.mark.notifiable({"GROUP_BUY_HOUR_SECONDS": str(WINDOW), "ORDER_PAYMENT_TIMEOUT_SECONDS": "3"})


@pytest.fixture
def cloud(cloud):
    yield cloud
    stop_group_flows(cloud)


def window(start_minutes=-1, end_minutes=60):
    at = clock.now()
    return {"starts_at": to_rfc3339(at + timedelta(minutes=start_minutes)),
            "ends_at": to_rfc3339(at + timedelta(minutes=end_minutes))}


def new_offer(client, admin, **fields):
    body = {"sku": "latte", "store_ids": ["s1"], "group_size": 2, "price_fen": 2500, "hours": 1, **window(),
            **fields}
    resp = client.post("/admin/group-buys", body, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()


def open_group(client, token, offer):
    resp = client.post(f"/group-buys/{offer['group_buy_id']}/groups", {"store_id": "s1"}, token=token)
    assert resp.status == 201, resp.body
    return resp.json()


def join(client, token, group_id):
    return client.post(f"/groups/{group_id}/join", token=token)


def sim_pay(wechat, order_id):
    return requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).json()


def stock(client, token):
    return client.get("/stores/s1/products", token=token).json()["items"][0]["stock"]


def group(client, token, group_id):
    return client.get(f"/groups/{group_id}", token=token).json()


def order(client, token, order_id):
    return client.get(f"/orders/{order_id}", token=token).json()


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def wait_for_group_flows(cloud, timeout=15.0):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = cloud.ref("GroupBuyStateMachine")
    wait_until(lambda: not sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"], timeout)


def stop_group_flows(cloud):
    """No group flow of this stack runs on into the next test's (the long windows here are stopped)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for e in sfn.list_executions(stateMachineArn=cloud.ref("GroupBuyStateMachine"),
                                 statusFilter="RUNNING")["executions"]:
        try:
            sfn.stop_execution(executionArn=e["executionArn"])
        except Exception:  # noqa: BLE001 - it may be finishing right now: then wait for it
            wait_for_group_flows(cloud)


def execution(cloud, group_id):
    arn = cloud.ref("GroupBuyStateMachine").replace(":stateMachine:", ":execution:") + f":{group_id}"
    return boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)


def refunds_of(wechat, order_id):
    return [len(t["refunds"]) for t in wechat.pay.transactions() if t["out_trade_no"] == order_id]


def test_the_flow_is_the_template_asl_waiting_on_the_groups_window(cloud):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.loads(sfn.describe_state_machine(
        stateMachineArn=cloud.ref("GroupBuyStateMachine"))["definition"])
    wait = definition["States"][definition["StartAt"]]
    assert wait["Type"] == "Wait" and wait["SecondsPath"] == "$.wait_seconds"
    assert definition["States"][wait["Next"]]["Parameters"]["FunctionName"].endswith(":function:SettleGroupFunction")


def test_a_group_that_forms_is_ready_for_pickup(client, actors, shop, wechat, cloud):
    offer = new_offer(client, shop["admin"], group_size=3, hours=LONG)
    assert client.get(f"/group-buys/{offer['group_buy_id']}", token=shop["admin"]).json()["status"] == "live"
    leader, a, b = (actors.member(c)["token"] for c in ("leader", "friend-a", "friend-b"))
    opened = open_group(client, leader, offer)
    gid = opened["group_id"]
    assert opened["order"]["payable_fen"] == 2500 and opened["payment"]["paySign"]
    assert opened["group"] == {**opened["group"], "status": "forming", "members": 0, "needed": 3}
    joined = [join(client, t, gid) for t in (a, b)]
    assert [r.status for r in joined] == [201, 201], [r.body for r in joined]
    joined = [r.json() for r in joined]
    assert stock(client, leader) == 17  # each order holds its unit of store stock
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    sim_pay(wechat, opened["order"]["order_id"])
    sim_pay(wechat, joined[0]["order"]["order_id"])
    paid = wait_until(lambda: (o := order(client, leader, opened["order"]["order_id"]))["status"] == "paid" and o)
    # Paid but not formed: not ready for pickup yet.
    early = client.post(f"/orders/{paid['order_id']}/pickup", {"pickup_code": paid["pickup_code"]}, token=clerk)
    assert early.status == 409 and early.json()["error"]["code"] == "GROUP_NOT_FORMED"
    assert group(client, leader, gid)["needed"] == 1
    sim_pay(wechat, joined[1]["order"]["order_id"])
    formed = wait_until(lambda: (g := group(client, leader, gid))["status"] == "formed" and g)
    assert formed["members"] == 3 and formed["needed"] == 0 and formed["formed_at"]
    done = client.post(f"/orders/{paid['order_id']}/pickup", {"pickup_code": paid["pickup_code"]}, token=clerk)
    assert done.status == 200 and done.json()["status"] == "completed"
    # The deadline's task (what the flow runs when the window ends): a formed group is left as it is.
    assert cloud.invoke("SettleGroupFunction", {"group_id": gid})["outcome"] == "already_formed"
    ids = [opened["order"]["order_id"]] + [j["order"]["order_id"] for j in joined]
    assert [order(client, leader if i == 0 else (a, b)[i - 1], oid)["status"] for i, oid in enumerate(ids)] == \
        ["completed", "paid", "paid"]
    assert all(refunds_of(wechat, oid) == [0] for oid in ids)
    # A formed group is full; a member already in it cannot join twice.
    full = join(client, actors.member("late")["token"], gid)
    assert full.status == 409 and full.json()["error"]["code"] == "GROUP_FULL"
    cloud.drain_streams()
    day = clock.now().astimezone(clock.CN_TZ).date().isoformat()
    totals = client.get(f"/admin/analytics/stores/s1?from={day}&to={day}", token=shop["admin"]).json()["totals"]
    assert (totals["groups_opened"], totals["groups_formed"], totals["groups_failed"]) == (1, 1, 0)
    assert totals["orders"] == 3 and totals["revenue_fen"] == 7500


def test_a_group_that_does_not_form_fails_refunds_every_paid_order_and_releases_the_rest(client, actors, shop,
                                                                                          wechat, cloud):
    offer = new_offer(client, shop["admin"], group_size=3, hours=3)
    leader, a, b = (actors.member(c)["token"] for c in ("leader", "friend-a", "friend-b"))
    opened = open_group(client, leader, offer)
    gid = opened["group_id"]
    first = join(client, a, gid).json()["order"]
    unpaid = join(client, b, gid).json()["order"]
    sim_pay(wechat, opened["order"]["order_id"])
    sim_pay(wechat, first["order_id"])
    assert stock(client, leader) == 17
    failed = wait_until(lambda: (g := group(client, leader, gid))["status"] == "failed" and g, timeout=20)
    assert failed["failed_at"] and failed["members"] == 2
    ended = wait_until(lambda: (e := execution(cloud, gid))["status"] != "RUNNING" and e)
    assert ended["status"] == "SUCCEEDED" and json.loads(ended["output"])["outcome"] == "failed"
    assert wechat.pay.wait_for_deliveries()
    for token, oid in ((leader, opened["order"]["order_id"]), (a, first["order_id"])):
        final = wait_until(lambda t=token, o=oid: (r := order(client, t, o))["status"] == "refunded" and r)
        assert final["refunded_at"] and refunds_of(wechat, oid) == [1]
        assert client.get("/me", token=token).json()["points"] == 0  # the points it earned taken back
    assert order(client, b, unpaid["order_id"])["status"] == "cancelled"
    assert stock(client, leader) == 20  # every unit back, once
    # The flow's task again (a Step Functions retry): nothing refunded or released twice.
    again = cloud.invoke("SettleGroupFunction", {"group_id": gid})
    assert again["outcome"] == "failed" and again["cancelled"] == 0 and again["refunded"] == 0
    assert wechat.pay.wait_for_deliveries()
    assert refunds_of(wechat, opened["order"]["order_id"]) == [1] and stock(client, leader) == 20
    # The unpaid member pays after all: refunded automatically, once.
    sim_pay(wechat, unpaid["order_id"])
    assert wechat.pay.wait_for_deliveries()
    assert wait_until(lambda: order(client, b, unpaid["order_id"])["status"] == "refunded")
    assert refunds_of(wechat, unpaid["order_id"]) == [1] and stock(client, leader) == 20
    late = join(client, actors.member("late")["token"], gid)
    assert late.status == 409 and late.json()["error"]["code"] == "GROUP_NOT_FORMING"
    cloud.drain_streams()
    day = clock.now().astimezone(clock.CN_TZ).date().isoformat()
    totals = client.get(f"/admin/analytics/stores/s1?from={day}&to={day}", token=shop["admin"]).json()["totals"]
    assert (totals["groups_opened"], totals["groups_formed"], totals["groups_failed"]) == (1, 0, 1)
    assert totals["orders"] == 2 and totals["refunds"] == 2 and totals["revenue_fen"] == 0


def test_a_payment_for_a_full_group_is_refunded_automatically(client, actors, shop, wechat, cloud):
    offer = new_offer(client, shop["admin"], group_size=2, hours=LONG)
    leader, a, b = (actors.member(c)["token"] for c in ("leader", "friend-a", "friend-b"))
    opened = open_group(client, leader, offer)
    gid = opened["group_id"]
    first = join(client, a, gid).json()["order"]
    extra = join(client, b, gid).json()["order"]  # three orders for a group of two
    sim_pay(wechat, opened["order"]["order_id"])
    sim_pay(wechat, first["order_id"])
    assert wait_until(lambda: group(client, leader, gid)["status"] == "formed")
    sim_pay(wechat, extra["order_id"])  # the group is full
    assert wechat.pay.wait_for_deliveries()
    final = wait_until(lambda: (o := order(client, b, extra["order_id"]))["status"] == "refunded" and o)
    assert final["pickup_code"] is None and refunds_of(wechat, extra["order_id"]) == [1]
    assert group(client, leader, gid)["members"] == 2
    assert stock(client, leader) == 18  # the refused order's unit back
    assert client.get("/me", token=b).json()["points"] == 0


def test_the_last_payment_racing_the_deadline_ends_formed_or_failed_never_between(client, actors, shop, wechat,
                                                                                   cloud):
    outcomes = []
    # The last payment sent at offsets around the group's deadline: some well before, some right at it, one after.
    for offset in (-1.0, -0.3, -0.1, 0.0, 0.3):
        offer = new_offer(client, shop["admin"], group_size=2, hours=2)
        leader = actors.member(f"leader{offset}")["token"]
        friend = actors.member(f"friend{offset}")["token"]
        opened = open_group(client, leader, offer)
        gid = opened["group_id"]
        last = join(client, friend, gid).json()["order"]
        sim_pay(wechat, opened["order"]["order_id"])
        deadline = clock.parse_rfc3339(opened["group"]["expires_at"])
        delay = (deadline - clock.now()).total_seconds() + offset
        timer = threading.Timer(max(0.0, delay), sim_pay, args=(wechat, last["order_id"]))
        timer.start()
        timer.join()
        wait_until(lambda g=gid: execution(cloud, g)["status"] != "RUNNING")
        assert wechat.pay.wait_for_deliveries()
        status = group(client, leader, gid)["status"]
        ids = [opened["order"]["order_id"], last["order_id"]]
        finals = [wait_until(lambda t=t, o=o: (r := order(client, t, o))["status"] in ("paid", "refunded") and r)
                  for t, o in zip((leader, friend), ids, strict=True)]
        if status == "formed":
            assert [f["status"] for f in finals] == ["paid", "paid"]
            assert all(refunds_of(wechat, o) == [0] for o in ids)
        else:
            assert status == "failed"
            assert [f["status"] for f in finals] == ["refunded", "refunded"]
            assert all(refunds_of(wechat, o) == [1] for o in ids)
        outcomes.append(status)
    assert wait_for_payment_flows(cloud, 10)
    paid_units = 2 * outcomes.count("formed")
    assert stock(client, actors.member("x")["token"]) == 20 - paid_units
    assert len(outcomes) == 5


def test_joining_twice_and_bad_input(client, actors, shop):
    offer = new_offer(client, shop["admin"], group_size=3, hours=LONG)
    leader = actors.member("leader")["token"]
    gid = open_group(client, leader, offer)["group_id"]
    twice = join(client, leader, gid)
    assert twice.status == 409 and twice.json()["error"]["code"] == "ALREADY_IN_GROUP"
    friend = actors.member("friend")["token"]
    assert join(client, friend, gid).status == 201
    again = join(client, friend, gid)
    assert again.status == 409 and again.json()["error"]["code"] == "ALREADY_IN_GROUP"
    assert stock(client, leader) == 18  # the refused joins hold nothing
    assert join(client, friend, "g_nope").status == 404
    assert client.get("/groups/g_nope", token=friend).status == 404
    assert client.post("/group-buys/gb_nope/groups", {"store_id": "s1"}, token=friend).status == 404
    assert client.post(f"/group-buys/{offer['group_buy_id']}/groups", {"store_id": "s1", "x": 1},
                       token=friend).status == 400
    actors.store("s9")
    elsewhere = client.post(f"/group-buys/{offer['group_buy_id']}/groups", {"store_id": "s9"}, token=friend)
    assert elsewhere.status == 409 and elsewhere.json()["error"]["code"] == "NOT_SOLD_AT_STORE"
    later = new_offer(client, shop["admin"], **window(30, 60))
    early = client.post(f"/group-buys/{later['group_buy_id']}/groups", {"store_id": "s1"}, token=friend)
    assert early.status == 409 and early.json()["error"]["code"] == "GROUP_BUY_NOT_LIVE"


@pytest.mark.parametrize("field,value", [("group_size", 1), ("group_size", 0), ("group_size", -3),
                                         ("price_fen", 0), ("price_fen", -1), ("hours", 0), ("hours", -1),
                                         ("sku", "unknown"), ("store_ids", ["nowhere"]), ("store_ids", []),
                                         ("group_size", 2.5)])
def test_bad_offers_are_a_clear_400(client, shop, field, value):
    body = {"sku": "latte", "store_ids": ["s1"], "group_size": 2, "price_fen": 2500, "hours": 1, **window(),
            field: value}
    resp = client.post("/admin/group-buys", body, token=shop["admin"])
    assert resp.status == 400, resp.body
    assert resp.json()["error"]["code"] == "VALIDATION_FAILED"


def test_a_manager_cannot_refund_a_forming_groups_order(client, actors, shop, wechat):
    offer = new_offer(client, shop["admin"], group_size=3, hours=LONG)
    leader = actors.member("leader")["token"]
    opened = open_group(client, leader, offer)
    sim_pay(wechat, opened["order"]["order_id"])
    wait_until(lambda: order(client, leader, opened["order"]["order_id"])["status"] == "paid")
    resp = client.post(f"/orders/{opened['order']['order_id']}/refund", {"reason": "x"}, token=shop["admin"])
    assert resp.status == 409 and resp.json()["error"]["code"] == "GROUP_FORMING"
