"""Orders through the routes: place (stock, coupon and points reserved), read, list, cancel, pick up, refund, and
every kind of bad input refused with nothing written. Payments arrive from the WeChat Pay fake over HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta

import boto3
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from local.cloud import REGION
from local.merchant_keys import merchant
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

pytestmark = pytest.mark.notifiable


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only


def error(resp):
    return resp.json()["error"]["code"]


@pytest.fixture
def shop(client, actors):
    """Store s1 (and s2) selling a latte (¥32, 5 at s1) and a cookie (¥8, 10 at s1)."""
    actors.store("s1")
    actors.store("s2")
    admin = actors.admin["token"]
    for body in ({"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5, "s2": 5}},
                 {"sku": "cookie", "name": "曲奇", "price_fen": 800, "stock": {"s1": 10}}):
        assert client.post("/admin/products", body, token=admin).status == 201
    return {"admin": admin}


def stock(client, token, store_id="s1"):
    return {p["sku"]: p["stock"] for p in client.get(f"/stores/{store_id}/products", token=token).json()["items"]}


def order(client, token, items=(("latte", 1),), store_id="s1", **extra):
    body = {"store_id": store_id, "items": [{"sku": s, "qty": q} for s, q in items], **extra}
    return client.post("/orders", body, token=token)


def pay(wechat, order_id, **extra):
    resp = requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id, **extra}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def new_coupon(client, admin, token, **template):
    """A coupon held by `token`'s member, claimed through the routes (template → live campaign → claim)."""
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 10,
            "validity": {"type": "relative", "days": 7}, **template}
    t = client.post("/admin/coupon-templates", body, token=admin)
    assert t.status == 201, t.body
    starts = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "C", "starts_at": to_rfc3339(starts),
                                         "ends_at": to_rfc3339(starts + timedelta(days=2)),
                                         "template_ids": [t.json()["template_id"]]}, token=admin)
    assert c.status == 201, c.body
    campaign_id = c.json()["campaign_id"]
    assert client.post(f"/admin/campaigns/{campaign_id}/publish", token=admin).status == 200
    got = client.post(f"/campaigns/{campaign_id}/claims", {"template_id": t.json()["template_id"]}, token=token)
    assert got.status == 201, got.body
    return got.json()["coupon"]


def coupon_status(client, token, coupon_id):
    mine = client.get("/me/coupons", token=token).json()["items"]
    return next(c["status"] for c in mine if c["coupon_id"] == coupon_id)


# --------------------------------------------------------------------------------------------- placing


def test_an_order_reserves_stock_and_answers_the_order_and_a_signed_payment(client, actors, shop):
    shopper = actors.member()
    resp = order(client, shopper["token"], [("latte", 2), ("cookie", 1)])
    assert resp.status == 201, resp.body
    body = resp.json()
    o = body["order"]
    assert o["status"] == "pending_payment" and o["store_id"] == "s1"
    assert o["items"] == [{"sku": "latte", "name": "拿铁", "qty": 2, "price_fen": 3200},
                          {"sku": "cookie", "name": "曲奇", "qty": 1, "price_fen": 800}]
    assert (o["total_fen"], o["discount_fen"], o["points_used"], o["payable_fen"]) == (7200, 0, 0, 7200)
    assert o["pickup_code"] is None
    assert stock(client, shopper["token"]) == {"latte": 3, "cookie": 9}
    # The wx.requestPayment object: signed with the merchant key over appId, timeStamp, nonceStr, package.
    payment = body["payment"]
    assert set(payment) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert payment["signType"] == "RSA" and payment["package"].startswith("prepay_id=wx")
    public = serialization.load_pem_public_key(merchant().merchant_public_key_pem.encode())
    message = "".join(f"{payment[k]}\n" for k in ("appId", "timeStamp", "nonceStr", "package")).encode()
    public.verify(base64.b64decode(payment["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())


def test_pay_then_pickup_completes_the_order(client, actors, shop, wechat):
    shopper = actors.member()
    oid = order(client, shopper["token"]).json()["order"]["order_id"]
    assert pay(wechat, oid)["status"] == 200
    paid = client.get(f"/orders/{oid}", token=shopper["token"]).json()
    assert paid["status"] == "paid" and len(paid["pickup_code"]) == 6 and paid["points_earned"] == 32
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    assert client.get(f"/orders/{oid}", token=clerk).json()["pickup_code"] is None  # staff are told it, not shown
    wrong = "000000" if paid["pickup_code"] != "000000" else "111111"
    resp = client.post(f"/orders/{oid}/pickup", {"pickup_code": wrong}, token=clerk)
    assert resp.status == 409 and error(resp) == "PICKUP_CODE_MISMATCH"
    other = actors.staff("clerk-2", "clerk", ["s2"])["token"]
    assert client.post(f"/orders/{oid}/pickup", {"pickup_code": paid["pickup_code"]}, token=other).status == 403
    done = client.post(f"/orders/{oid}/pickup", {"pickup_code": paid["pickup_code"]}, token=clerk)
    assert done.status == 200 and done.json()["status"] == "completed" and done.json()["completed_at"]
    again = client.post(f"/orders/{oid}/pickup", {"pickup_code": paid["pickup_code"]}, token=clerk)
    assert again.status == 409 and error(again) == "ORDER_NOT_PAID"


def test_an_unpaid_order_cannot_be_picked_up(client, actors, shop):
    oid = order(client, actors.member()["token"]).json()["order"]["order_id"]
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    resp = client.post(f"/orders/{oid}/pickup", {"pickup_code": "123456"}, token=clerk)
    assert resp.status == 409 and error(resp) == "ORDER_NOT_PAID"


def test_points_pay_part_of_an_order_and_are_reserved_at_once(client, actors, shop, wechat):
    shopper = actors.member()
    first = order(client, shopper["token"], [("latte", 5)]).json()["order"]
    pay(wechat, first["order_id"])  # 16000 fen paid: 160 points
    assert client.get("/me", token=shopper["token"]).json()["points"] == 160
    resp = order(client, shopper["token"], [("cookie", 1)], points=150)
    assert resp.status == 201, resp.body
    o = resp.json()["order"]
    assert (o["total_fen"], o["points_used"], o["payable_fen"]) == (800, 150, 650)
    assert client.get("/me", token=shopper["token"]).json()["points"] == 10
    too_many = order(client, shopper["token"], [("cookie", 1)], points=11)
    assert too_many.status == 409 and error(too_many) == "INSUFFICIENT_POINTS"
    assert stock(client, shopper["token"])["cookie"] == 9  # the refused order reserved nothing


def test_points_never_cover_the_last_fen(client, actors, shop, wechat):
    shopper = actors.member()
    pay(wechat, order(client, shopper["token"], [("latte", 5)]).json()["order"]["order_id"])  # 160 points
    o = order(client, shopper["token"], [("cookie", 1)], points=160)  # 160 points are 160 fen off 800
    assert o.json()["order"]["payable_fen"] == 640
    client.post(f"/orders/{o.json()['order']['order_id']}/cancel", token=shopper["token"])
    # A cheap item: the points stop 1 fen short (WeChat Pay takes no 0-fen payment).
    client.post("/admin/products", {"sku": "mint", "name": "薄荷糖", "price_fen": 100, "stock": {"s1": 3}},
                token=shop["admin"])
    cheap = order(client, shopper["token"], [("mint", 1)], points=160).json()["order"]
    assert (cheap["points_used"], cheap["payable_fen"]) == (99, 1)


def test_out_of_stock_is_409_and_reserves_nothing(client, actors, shop, cloud):
    shopper = actors.member()["token"]
    before = len(table_items(cloud))
    resp = order(client, shopper, [("cookie", 2), ("latte", 6)])
    assert resp.status == 409 and error(resp) == "OUT_OF_STOCK"
    assert stock(client, shopper) == {"latte": 5, "cookie": 10}
    assert len(table_items(cloud)) == before
    # A product the store does not sell is out of stock there, too.
    resp = order(client, shopper, [("cookie", 1)], store_id="s2")
    assert resp.status == 409 and error(resp) == "OUT_OF_STOCK"


def test_the_last_units_can_be_ordered(client, actors, shop):
    shopper = actors.member()["token"]
    assert order(client, shopper, [("latte", 5)]).status == 201
    resp = order(client, shopper, [("latte", 1)])
    assert resp.status == 409 and error(resp) == "OUT_OF_STOCK"


def test_the_same_idempotency_key_answers_the_first_order_once(client, actors, shop):
    shopper = actors.member()["token"]
    body = {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]}
    first = client.post("/orders", body, token=shopper, headers={"Idempotency-Key": "k1"})
    again = client.post("/orders", body, token=shopper, headers={"Idempotency-Key": "k1"})
    assert first.status == again.status == 201 and first.json() == again.json()
    assert stock(client, shopper)["latte"] == 4
    other = client.post("/orders", body | {"items": [{"sku": "latte", "qty": 2}]}, token=shopper,
                        headers={"Idempotency-Key": "k1"})
    assert other.status == 409 and error(other) == "IDEMPOTENCY_KEY_REUSED"
    # Scoped to the caller: another member's same key is another order.
    mine = client.post("/orders", body, token=actors.member("shopper-2")["token"], headers={"Idempotency-Key": "k1"})
    assert mine.status == 201 and mine.json()["order"]["order_id"] != first.json()["order"]["order_id"]


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("body, field", [
    ({"items": []}, "items"),
    ({"items": [{"sku": "latte", "qty": 0}]}, "items.0.qty"),
    ({"items": [{"sku": "latte", "qty": -1}]}, "items.0.qty"),
    ({"items": [{"sku": "latte", "qty": 1.5}]}, "items.0.qty"),
    ({"items": [{"sku": "latte", "qty": "2"}]}, "items.0.qty"),
    ({"items": [{"sku": "latte", "qty": 100}]}, "items.0.qty"),
    ({"items": [{"sku": "latte"}]}, "items.0.qty"),
    ({"items": [{"sku": "", "qty": 1}]}, "items.0.sku"),
    ({"items": [{"sku": "latte", "qty": 1}, {"sku": "latte", "qty": 1}]}, "items"),
    ({"items": [{"sku": "latte", "qty": 1, "price_fen": 1}]}, "items.0.price_fen"),
    ({"items": "latte"}, "items"),
    ({"items": [{"sku": "ghost", "qty": 1}]}, "items.0.sku"),
    ({"items": [{"sku": "latte", "qty": 1}, {"sku": "ghost", "qty": 1}]}, "items.1.sku"),
    ({"points": -1}, "points"),
    ({"points": 1.5}, "points"),
    ({"store_id": ""}, "store_id"),
    ({"store_id": None}, "store_id"),
    ({"coupon_id": "has space"}, "coupon_id"),
    ({"total_fen": 1}, "total_fen"),
])
def test_bad_order_input_is_400_and_nothing_is_written(client, actors, shop, cloud, body, field):
    shopper = actors.member()["token"]
    before = len(table_items(cloud))
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}], **body}, token=shopper)
    assert resp.status == 400, resp.body
    err = resp.json()["error"]
    assert err["code"] == "VALIDATION_FAILED"
    assert any(d["field"] == field for d in err["details"]), err["details"]
    assert len(table_items(cloud)) == before


def test_an_unknown_store_is_404_and_garbage_is_400(client, actors, shop, cloud):
    shopper = actors.member()["token"]
    before = len(table_items(cloud))
    resp = order(client, shopper, store_id="nowhere")
    assert resp.status == 404 and error(resp) == "NOT_FOUND"
    for raw in (b"", b"{", b"[]", b'"order"', "{\"store_id\": \"s1\", \"items\": [{\"sku\": \"拿铁\"}]}".encode()):
        resp = client.request("POST", "/orders", raw=raw, token=shopper, headers={"Content-Type": "application/json"})
        assert resp.status == 400 and error(resp) == "VALIDATION_FAILED", raw
    assert client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]}).status == 401
    assert len(table_items(cloud)) == before


# --------------------------------------------------------------------------------------------- reading


def test_who_may_read_an_order(client, actors, shop):
    owner = actors.member()
    oid = order(client, owner["token"]).json()["order"]["order_id"]
    assert client.get(f"/orders/{oid}", token=owner["token"]).status == 200
    assert client.get(f"/orders/{oid}", token=actors.admin["token"]).status == 200
    assert client.get(f"/orders/{oid}", token=actors.staff("c1", "clerk", ["s1"])["token"]).status == 200
    for token in (actors.member("someone-else")["token"], actors.staff("c2", "clerk", ["s2"])["token"]):
        resp = client.get(f"/orders/{oid}", token=token)
        assert resp.status == 403 and error(resp) == "FORBIDDEN"
    resp = client.get("/orders/ord_nope", token=owner["token"])
    assert resp.status == 404 and error(resp) == "NOT_FOUND"


def test_my_orders_newest_first_a_page_at_a_time_and_only_mine(client, actors, shop):
    me, other = actors.member()["token"], actors.member("other")["token"]
    ids = [order(client, me, [("cookie", 1)]).json()["order"]["order_id"] for _ in range(3)]
    order(client, other, [("cookie", 1)])
    first = client.get("/me/orders", token=me, query={"limit": 2}).json()
    rest = client.get("/me/orders", token=me, query={"limit": 2, "cursor": first["next"]}).json()
    listed = [o["order_id"] for o in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(ids) and rest["next"] is None
    created = [o["created_at"] for o in first["items"] + rest["items"]]
    assert created == sorted(created, reverse=True)
    stolen = client.get("/me/orders", token=other, query={"cursor": first["next"]})
    assert stolen.status == 400 and error(stolen) == "VALIDATION_FAILED"  # a cursor into someone else's list


# --------------------------------------------------------------------------------------------- cancelling


def test_cancel_releases_stock_points_and_coupon_exactly_once(client, actors, shop, wechat):
    shopper = actors.member()
    token = shopper["token"]
    pay(wechat, order(client, token, [("latte", 5)]).json()["order"]["order_id"])  # 160 points, latte now 0
    coupon = new_coupon(client, shop["admin"], token)
    resp = order(client, token, [("cookie", 3)], coupon_id=coupon["coupon_id"], points=100)
    assert resp.status == 201, resp.body
    o = resp.json()["order"]
    assert (o["total_fen"], o["discount_fen"], o["points_used"], o["payable_fen"]) == (2400, 1000, 100, 1300)
    assert coupon_status(client, token, coupon["coupon_id"]) == "locked"
    assert stock(client, token)["cookie"] == 7 and client.get("/me", token=token).json()["points"] == 60
    others = actors.member("not-the-owner")["token"]
    assert client.post(f"/orders/{o['order_id']}/cancel", token=others).status == 403
    for _ in range(2):  # the second cancel answers the same and releases nothing more
        resp = client.post(f"/orders/{o['order_id']}/cancel", token=token)
        assert resp.status == 200 and resp.json()["status"] == "cancelled"
    assert stock(client, token)["cookie"] == 10
    assert client.get("/me", token=token).json()["points"] == 160
    assert coupon_status(client, token, coupon["coupon_id"]) == "active"
    reasons = [e["reason"] for e in client.get("/me/points", token=token).json()["items"]]
    assert reasons == ["order_points_released", "order_points_used", "order_points_earned"]


def test_a_paid_order_cannot_be_cancelled(client, actors, shop, wechat):
    token = actors.member()["token"]
    oid = order(client, token).json()["order"]["order_id"]
    pay(wechat, oid)
    resp = client.post(f"/orders/{oid}/cancel", token=token)
    assert resp.status == 409 and error(resp) == "ORDER_NOT_PENDING"
    assert stock(client, token)["latte"] == 4


# --------------------------------------------------------------------------------------------- coupons


def test_a_coupon_is_redeemed_when_the_order_is_paid_and_not_given_back_on_refund(client, actors, shop, wechat):
    token = actors.member()["token"]
    coupon = new_coupon(client, shop["admin"], token, min_spend_fen=3000)
    oid = order(client, token, [("latte", 1)], coupon_id=coupon["coupon_id"]).json()["order"]["order_id"]
    pay(wechat, oid)
    assert coupon_status(client, token, coupon["coupon_id"]) == "redeemed"
    # The first paid order made them a member, through this store and the coupon's campaign (analytics).
    from storeloop.data.members import get_profile

    profile = get_profile(client.get("/me", token=token).json()["member_id"])
    assert profile.joined_at and profile.joined_store_id == "s1"
    assert profile.joined_campaign_id == coupon["campaign_id"]
    manager = actors.staff("mgr", "manager", ["s1"])["token"]
    assert client.post(f"/orders/{oid}/refund", {"reason": "broken cup"}, token=manager).status == 200
    assert wechat.pay.wait_for_deliveries()
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"
    assert coupon_status(client, token, coupon["coupon_id"]) == "redeemed"


@pytest.mark.parametrize("template, items, code", [
    ({"min_spend_fen": 5000}, [("latte", 1)], "MIN_SPEND_NOT_MET"),
    ({"store_ids": ["s2"]}, [("latte", 1)], "COUPON_NOT_VALID_HERE"),
    ({"channels": ["store"]}, [("latte", 1)], "COUPON_NOT_VALID_HERE"),
])
def test_a_coupon_that_does_not_fit_the_order_is_refused_with_nothing_reserved(client, actors, shop, template, items,
                                                                                code):
    token = actors.member()["token"]
    coupon = new_coupon(client, shop["admin"], token, **template)
    resp = order(client, token, items, coupon_id=coupon["coupon_id"])
    assert resp.status == 409 and error(resp) == code
    assert stock(client, token)["latte"] == 5 and coupon_status(client, token, coupon["coupon_id"]) == "active"


def test_a_coupon_serves_one_order_at_a_time_and_only_its_holder(client, actors, shop):
    token = actors.member()["token"]
    coupon = new_coupon(client, shop["admin"], token)
    assert order(client, token, [("latte", 1)], coupon_id=coupon["coupon_id"]).status == 201
    again = order(client, token, [("latte", 1)], coupon_id=coupon["coupon_id"])
    assert again.status == 409 and error(again) == "COUPON_ALREADY_REDEEMED"
    thief = order(client, actors.member("thief")["token"], [("latte", 1)], coupon_id=coupon["coupon_id"])
    assert thief.status == 404 and error(thief) == "COUPON_NOT_FOUND"
    assert stock(client, token)["latte"] == 4


# --------------------------------------------------------------------------------------------- refunds


def test_refund_is_for_a_manager_of_the_store_or_an_admin_and_happens_once(client, actors, shop, wechat):
    token = actors.member()["token"]
    oid = order(client, token, [("latte", 2)]).json()["order"]["order_id"]
    resp = client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=actors.admin["token"])
    assert resp.status == 409 and error(resp) == "ORDER_NOT_REFUNDABLE"  # not paid yet
    pay(wechat, oid)
    for who in (token, actors.staff("clerk", "clerk", ["s1"])["token"],
                actors.staff("mgr-2", "manager", ["s2"])["token"]):
        resp = client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=who)
        assert resp.status == 403 and error(resp) == "FORBIDDEN"
    manager = actors.staff("mgr", "manager", ["s1"])["token"]
    resp = client.post(f"/orders/{oid}/refund", {"reason": "顾客退货"}, token=manager)
    assert resp.status == 200 and resp.json()["status"] == "refund_pending"
    assert stock(client, token)["latte"] == 5  # never picked up: the cups go back on the shelf
    assert wechat.pay.wait_for_deliveries()
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"
    again = client.post(f"/orders/{oid}/refund", {"reason": "again"}, token=manager)
    assert again.status == 409 and error(again) == "ALREADY_REFUNDED"
    txn = next(t for t in wechat.pay.transactions() if t["out_trade_no"] == oid)
    assert len(txn["refunds"]) == 1 and txn["refunds"][0]["amount"]["refund"] == 6400
    assert stock(client, token)["latte"] == 5


def test_refund_of_a_picked_up_order_keeps_the_stock(client, actors, shop, wechat):
    token = actors.member()["token"]
    oid = order(client, token, [("latte", 1)]).json()["order"]["order_id"]
    pay(wechat, oid)
    code = client.get(f"/orders/{oid}", token=token).json()["pickup_code"]
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    assert client.post(f"/orders/{oid}/pickup", {"pickup_code": code}, token=clerk).status == 200
    resp = client.post(f"/orders/{oid}/refund", {"reason": "cold"}, token=actors.admin["token"])
    assert resp.status == 200 and resp.json()["status"] == "refund_pending"
    assert stock(client, token)["latte"] == 4
    assert wechat.pay.wait_for_deliveries()
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 81}, {"reason": 5}, {"reason": "x", "y": 1}])
def test_bad_refund_and_pickup_bodies_are_400(client, actors, shop, wechat, body):
    token = actors.member()["token"]
    oid = order(client, token).json()["order"]["order_id"]
    pay(wechat, oid)
    resp = client.post(f"/orders/{oid}/refund", body, token=actors.admin["token"])
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    for bad in ({}, {"pickup_code": "12345"}, {"pickup_code": 123456}, {"pickup_code": "abcdef"}):
        resp = client.post(f"/orders/{oid}/pickup", bad, token=clerk)
        assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "paid"


def test_a_payment_pays_the_order_even_if_its_coupon_lock_was_lost(client, actors, shop, wechat, cloud):
    token = actors.member()["token"]
    coupon = new_coupon(client, shop["admin"], token)
    oid = order(client, token, [("latte", 1)], coupon_id=coupon["coupon_id"]).json()["order"]["order_id"]
    # Someone (an operator, a bug) released the lock behind the order's back.
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=cloud.ref("MainTable"), Key={"PK": {"S": f"COUPON#{coupon['coupon_id']}"}, "SK": {"S": "COUPON"}},
        UpdateExpression="SET #s = :a REMOVE locked_by_order", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": {"S": "active"}})
    pay(wechat, oid)
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "paid"
    assert coupon_status(client, token, coupon["coupon_id"]) == "active"  # not redeemed by an order not holding it


def test_wechat_pay_down_at_order_time_is_503_and_holds_nothing(client, actors, shop, wechat):
    token = actors.member()["token"]
    wechat.down = True
    try:
        resp = order(client, token, [("latte", 2)])
    finally:
        wechat.down = False
    assert resp.status == 503 and error(resp) == "UPSTREAM_UNAVAILABLE"
    assert stock(client, token)["latte"] == 5
    assert [o["status"] for o in client.get("/me/orders", token=token).json()["items"]] == ["cancelled"]


def test_wechat_pay_down_at_refund_time_is_503_and_asking_again_refunds_once(client, actors, shop, wechat):
    token = actors.member()["token"]
    oid = order(client, token).json()["order"]["order_id"]
    pay(wechat, oid)
    manager = actors.staff("mgr", "manager", ["s1"])["token"]
    wechat.down = True
    try:
        resp = client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=manager)
    finally:
        wechat.down = False
    assert resp.status == 503 and error(resp) == "UPSTREAM_UNAVAILABLE"
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refund_pending"
    again = client.post(f"/orders/{oid}/refund", {"reason": "x"}, token=manager)
    assert again.status == 200 and again.json()["status"] == "refund_pending"
    assert wechat.pay.wait_for_deliveries()
    assert client.get(f"/orders/{oid}", token=token).json()["status"] == "refunded"
    txn = next(t for t in wechat.pay.transactions() if t["out_trade_no"] == oid)
    assert len(txn["refunds"]) == 1
