"""Members and points through the routes: GET /me, the ledger after a paid order, a POS sale and a refund, tiers,
the clawback rule (never below zero), and the member code."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests

from storeloop import tokens
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3250, "stock": {"s1": 50}}
    assert client.post("/admin/products", body, token=admin).status == 201
    secret = client.post("/admin/stores/s1/pos-secret", token=admin).json()["secret"]
    manager = actors.staff("mgr", "manager", ["s1"])["token"]
    return {"admin": admin, "secret": secret, "manager": manager}


def place(client, token, qty=1, points=0):
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": qty}], "points": points},
                       token=token)
    assert resp.status == 201, resp.body
    return resp.json()["order"]


def pay(wechat, order_id):
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).json()["status"] == 200


def refund(client, wechat, order_id, manager):
    resp = client.post(f"/orders/{order_id}/refund", {"reason": "退货"}, token=manager)
    assert resp.status == 200, resp.body
    assert wechat.pay.wait_for_deliveries()


def pos_sale(client, secret, sale_id, total_fen, member_code=None):
    body = {"sale_id": sale_id, "total_fen": total_fen, "items": [], "coupon_codes": [],
            "occurred_at": to_rfc3339(clock.now()), **({"member_code": member_code} if member_code else {})}
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    resp = client.request("POST", "/webhooks/pos/s1", raw=raw,
                          headers={"X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})
    assert resp.status == 200, resp.body
    return resp.json()


def ledger(client, token):
    return client.get("/me/points", token=token, query={"limit": 100}).json()


def test_a_new_shopper_is_not_yet_a_member(client, actors):
    me = client.get("/me", token=actors.member()["token"])
    assert me.status == 200
    body = me.json()
    assert body["is_member"] is False and body["joined_at"] is None
    assert (body["tier"], body["points"], body["lifetime_spend_fen"], body["consents"]) == ("bronze", 0, 0, None)
    assert client.get("/me").status == 401


def test_the_ledger_after_a_paid_order_a_pos_sale_and_a_refund(client, actors, shop, wechat):
    shopper = actors.member()
    token = shopper["token"]
    first = place(client, token, qty=2)  # 6500 fen
    pay(wechat, first["order_id"])
    code = client.get("/me/member-code", token=token).json()["code"]
    assert pos_sale(client, shop["secret"], "S-1", 4599, code)["points_earned"] == 45
    second = place(client, token, qty=1, points=50)  # 3250 - 50 = 3200 fen
    pay(wechat, second["order_id"])
    me = client.get("/me", token=token).json()
    assert me["points"] == 65 - 50 + 45 + 32 and me["lifetime_spend_fen"] == 6500 + 4599 + 3200 and me["is_member"]
    refund(client, wechat, second["order_id"], shop["manager"])  # the 50 used come back, the 32 earned go
    book = ledger(client, token)
    assert [(e["reason"], e["delta"]) for e in reversed(book["items"])] == [
        ("order_points_earned", 65), ("pos_sale_earned", 45), ("order_points_used", -50),
        ("order_points_earned", 32), ("refund_points_returned", 50), ("refund_clawback", -32)]
    assert book["balance"] == sum(e["delta"] for e in book["items"]) == 110
    me = client.get("/me", token=token).json()
    assert me["points"] == 110 and me["lifetime_spend_fen"] == 6500 + 4599


def test_a_refund_takes_back_only_what_is_left_and_records_the_shortfall(client, actors, shop, wechat):
    token = actors.member()["token"]
    big = place(client, token, qty=10)  # 32500 fen: 325 points
    pay(wechat, big["order_id"])
    spend = place(client, token, qty=1, points=300)  # spends 300 of them
    pay(wechat, spend["order_id"])  # 3250 - 300 = 2950 fen: 29 more
    assert client.get("/me", token=token).json()["points"] == 325 - 300 + 29
    refund(client, wechat, big["order_id"], shop["manager"])
    book = ledger(client, token)
    clawback = book["items"][0]
    assert (clawback["reason"], clawback["delta"], clawback["shortfall"]) == ("refund_clawback", -54, 271)
    assert book["balance"] == 0 == client.get("/me", token=token).json()["points"]
    assert sum(e["delta"] for e in book["items"]) == 0
    # The balance stays at zero: a later order cannot use points, and earns as usual.
    later = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}], "points": 1},
                        token=token)
    assert later.status == 409 and later.json()["error"]["code"] == "INSUFFICIENT_POINTS"


def test_tiers_follow_lifetime_spend(client, actors, shop):
    shopper = actors.member()
    code = client.get("/me/member-code", token=shopper["token"]).json()["code"]
    pos_sale(client, shop["secret"], "S-big", 99_999, code)
    assert client.get("/me", token=shopper["token"]).json()["tier"] == "bronze"
    code = client.get("/me/member-code", token=shopper["token"]).json()["code"]
    pos_sale(client, shop["secret"], "S-one-more", 1, code)
    me = client.get("/me", token=shopper["token"]).json()
    assert me["tier"] == "silver" and me["lifetime_spend_fen"] == 100_000 and me["points"] == 999


def test_the_member_code_is_short_lived_and_names_the_caller(client, actors, cloud):
    shopper = actors.member()
    resp = client.get("/me/member-code", token=shopper["token"])
    assert resp.status == 200
    body = resp.json()
    assert body["expires_in"] == 120
    claims = tokens.read(cloud.environment["TOKEN_SIGNING_KEY"], "member_code", body["code"])
    assert claims["sub"] == shopper["member_id"] and claims["exp"] - claims["iat"] == 120
    with pytest.raises(tokens.TokenInvalid):  # not usable as a session
        tokens.read(cloud.environment["TOKEN_SIGNING_KEY"], "session", body["code"])
    assert client.get("/me/points", token=body["code"]).status == 401


def test_the_ledger_pages_newest_first(client, actors, shop):
    shopper = actors.member()
    for i in range(5):
        code = client.get("/me/member-code", token=shopper["token"]).json()["code"]
        pos_sale(client, shop["secret"], f"S-{i}", 100 * (i + 1), code)
    first = client.get("/me/points", token=shopper["token"], query={"limit": 3}).json()
    rest = client.get("/me/points", token=shopper["token"], query={"limit": 3, "cursor": first["next"]}).json()
    assert [e["sale_id"] for e in first["items"] + rest["items"]] == ["S-4", "S-3", "S-2", "S-1", "S-0"]
    assert rest["next"] is None and first["balance"] == 15
    other = client.get("/me/points", token=actors.member("other")["token"], query={"cursor": first["next"]})
    assert other.status == 400
    assert client.get("/me/points", token=shopper["token"], query={"limit": 0}).status == 400
