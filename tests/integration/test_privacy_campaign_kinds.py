"""PIPL export and erasure reach the campaign kinds' records: points-mall redemptions (on the member's index)
and group buys (the membership, and the group a member opened), found through the member's orders, never a
scan. After DELETE /me they are kept for accounting with the member replaced by the tombstone."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
import requests

from local.cloud import REGION
from storeloop.data import privacy as privacy_data
from storeloop.data.group_buys import MEMBER_PREFIX, group_pk
from storeloop.data.rewards import redemption_pk
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

pytestmark = pytest.mark.notifiable({"GROUP_BUY_HOUR_SECONDS": "60"})


@pytest.fixture
def cloud(cloud):
    yield cloud
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for machine in ("GroupBuyStateMachine", "OrderPaymentStateMachine"):
        for e in sfn.list_executions(stateMachineArn=cloud.ref(machine), statusFilter="RUNNING")["executions"]:
            try:
                sfn.stop_execution(executionArn=e["executionArn"])
            except Exception:  # noqa: BLE001 - finishing on its own right now
                pass


@pytest.fixture
def loop(client, actors, wechat):
    actors.store("s1")
    admin = actors.admin["token"]
    for sku, price in (("beans", 100_000), ("latte", 3200)):
        body = {"sku": sku, "name": sku, "price_fen": price, "stock": {"s1": 20}}
        assert client.post("/admin/products", body, token=admin).status == 201
    who = actors.member("kinds")
    token = who["token"]
    order = client.post("/orders", {"store_id": "s1", "items": [{"sku": "beans", "qty": 1}]}, token=token)
    assert order.status == 201, order.body  # 1,000 points once paid
    requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order.json()["order"]["order_id"]}, timeout=10)
    reward = client.post("/admin/rewards", {"name": "杯子", "kind": "gift", "sku": "beans", "points": 500,
                                            "stock": 3}, token=admin).json()
    redemption = client.post(f"/rewards/{reward['reward_id']}/redemptions", {"store_id": "s1"}, token=token)
    assert redemption.status == 201, redemption.body
    at = clock.now()
    offer = client.post("/admin/group-buys", {
        "sku": "latte", "store_ids": ["s1"], "group_size": 3, "price_fen": 2500, "hours": 1,
        "starts_at": to_rfc3339(at - timedelta(minutes=1)), "ends_at": to_rfc3339(at + timedelta(hours=1))},
        token=admin).json()
    opened = client.post(f"/group-buys/{offer['group_buy_id']}/groups", {"store_id": "s1"}, token=token)
    assert opened.status == 201, opened.body
    return {"who": who, "redemption_id": redemption.json()["redemption_id"],
            "group_id": opened.json()["group"]["group_id"]}


def test_the_export_lists_redemptions_and_group_buys(client, actors, loop):
    body = client.get("/me/export", token=loop["who"]["token"]).json()
    assert [r["redemption_id"] for r in body["redemptions"]] == [loop["redemption_id"]]
    records = {(g["record"], g["group_id"]) for g in body["group_buys"]}
    assert records == {("group_membership", loop["group_id"]), ("group_opened", loop["group_id"])}
    other = client.get("/me/export", token=actors.member("someone-else")["token"]).json()
    assert other["redemptions"] == [] and other["group_buys"] == []


def test_erasure_keeps_them_for_accounting_without_the_member(client, loop):
    m = loop["who"]["member_id"]
    assert client.delete("/me", token=loop["who"]["token"]).status == 200
    redemption = privacy_data.get_item(redemption_pk(loop["redemption_id"]), "REDEMPTION")
    assert redemption["member_id"] == "erased" and "GSI1PK" not in redemption
    assert privacy_data.get_item(group_pk(loop["group_id"]), f"{MEMBER_PREFIX}{m}")["member_id"] == "erased"
    assert privacy_data.get_item(group_pk(loop["group_id"]), "GROUP")["leader_id"] == "erased"
