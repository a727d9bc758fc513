"""Outbound webhooks for online orders: order.paid then order.refunded reach the endpoint in order, with the
order's money and lines and the member id only; coupon.redeemed and pos.return come from the till."""

from __future__ import annotations

import pytest
import requests

from tests.integration.test_pos_returns import give_back, sell
from tests.integration.test_pos_webhook import new_coupon
from tests.integration.test_webhooks import flush, register

pytestmark = pytest.mark.notifiable


def test_an_order_paid_then_refunded_arrives_in_that_order(client, actors, cloud, wechat, receiver):
    actors.store("s1")
    admin = actors.admin["token"]
    assert client.post("/admin/products", {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5}},
                       token=admin).status == 201
    register(client, actors, receiver.url, events=["order.paid", "order.refunded"])
    shopper = actors.member()
    order = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 2}]}, token=shopper["token"])
    oid = order.json()["order"]["order_id"]
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": oid}, timeout=10).status_code == 200
    assert client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=admin).status == 200
    assert wechat.pay.wait_for_deliveries()
    flush(cloud)
    events = receiver.events()
    assert [e["type"] for e in events] == ["order.paid", "order.refunded"]
    paid, refunded = events[0]["data"], events[1]["data"]
    assert paid["order_id"] == oid and paid["member_id"] == shopper["member_id"] and paid["payable_fen"] == 6400
    assert paid["items"] == [{"sku": "latte", "qty": 2, "price_fen": 3200}] and paid["points_earned"] == 64
    assert "pickup_code" not in paid
    assert refunded == {"order_id": oid, "member_id": shopper["member_id"], "store_id": "s1", "refund_fen": 6400,
                        "points_clawed_back": 64, "refunded_at": refunded["refunded_at"]}


def test_till_coupon_redemptions_and_returns_are_sent(client, actors, cloud, receiver):
    actors.store("s1")
    admin = actors.admin["token"]
    secret = client.post("/admin/stores/s1/pos-secret", token=admin).json()["secret"]
    shopper = actors.member()
    till = {"secret": secret, "token": shopper["token"], "member_id": shopper["member_id"]}
    register(client, actors, receiver.url, events=["coupon.redeemed", "pos.return"])
    coupon = new_coupon(client, admin, shopper["token"], return_on_refund=True)
    sell(client, till, coupon_codes=[coupon["code"]])
    assert give_back(client, till, items=(("latte", 2, 3000), ("cookie", 1, 800))).status == 200
    flush(cloud)
    redeemed, returned = sorted(receiver.events(), key=lambda e: e["type"])
    assert redeemed["type"] == "coupon.redeemed" and redeemed["data"]["coupon_id"] == coupon["coupon_id"]
    assert redeemed["data"]["store_id"] == "s1" and "code" not in redeemed["data"]
    assert returned["type"] == "pos.return" and returned["data"]["coupons_returned"] == [coupon["coupon_id"]]
    assert returned["data"]["points_clawed_back"] == 68 and returned["data"]["sale_id"] == "S-1"
