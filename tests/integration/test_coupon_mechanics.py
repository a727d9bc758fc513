"""Issue 9, more coupon mechanics through the routes: the daily limit at China midnight, sku scope at the till, online
and at the POS, return on refund, the welcome gift (once, by any path), exchange codes, and the order preview."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import boto3
import pytest
import requests

from local.cloud import REGION
from local.testing import ok
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339
from tests.contention.racing import all_at_once

REAL_NOW = clock.now


pytestmark = pytest.mark.notifiable


def error(resp):
    return resp.json()["error"]["code"]


@pytest.fixture
def shop(client, actors, admin):
    actors.store("s1")
    for sku, price in (("latte", 3000), ("beans", 8000)):
        ok(client.post("/admin/products", {"sku": sku, "name": sku, "price_fen": price, "stock": {"s1": 50}},
                       token=admin), 201)
    return ok(client.post("/admin/stores/s1/pos-secret", token=admin), 201)["secret"]


def template(client, admin, **fields):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 100, "per_member_limit": 5,
            "validity": {"type": "relative", "days": 7}, **fields}
    return ok(client.post("/admin/coupon-templates", body, token=admin), 201)["template_id"]


def campaign(client, admin, template_ids, days=3):
    starts = clock.now() - timedelta(minutes=1)
    c = ok(client.post("/admin/campaigns", {"name": "c", "starts_at": to_rfc3339(starts),
                                            "ends_at": to_rfc3339(starts + timedelta(days=days)),
                                            "template_ids": template_ids}, token=admin), 201)["campaign_id"]
    ok(client.post(f"/admin/campaigns/{c}/publish", token=admin))
    return c


def claim(client, token, c, t):
    return client.post(f"/campaigns/{c}/claims", {"template_id": t}, token=token)


def pos_sale(client, secret, sale_id, items, codes, member_code=None):
    body = {"sale_id": sale_id, "total_fen": sum(i["qty"] * i["price_fen"] for i in items), "items": items,
            "coupon_codes": codes, "occurred_at": to_rfc3339(clock.now())}
    if member_code:
        body["member_code"] = member_code
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return ok(client.request("POST", "/webhooks/pos/s1", raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig}))


# --------------------------------------------------------------------------------------------- daily limit


def test_the_daily_limit_resets_at_midnight_china_time(client, actors, admin, travel):
    t = template(client, admin, daily_limit=2)
    c = campaign(client, admin, [t])
    amy, ben = actors.member("amy")["token"], actors.member("ben")["token"]
    today = REAL_NOW().astimezone(CN_TZ)
    midnight = datetime(today.year, today.month, today.day, tzinfo=CN_TZ) + timedelta(days=1)
    travel(midnight - timedelta(seconds=10))
    assert claim(client, amy, c, t).status == 201
    assert claim(client, ben, c, t).status == 201
    assert error(claim(client, amy, c, t)) == "DAILY_LIMIT_REACHED"
    travel(midnight - timedelta(seconds=1))
    assert error(claim(client, ben, c, t)) == "DAILY_LIMIT_REACHED"
    travel(midnight + timedelta(seconds=1))  # a new China day: two more
    assert claim(client, amy, c, t).status == 201
    assert claim(client, ben, c, t).status == 201
    assert error(claim(client, ben, c, t)) == "DAILY_LIMIT_REACHED"
    assert len(ok(client.get("/me/coupons", token=amy))["items"]) == 2


def test_template_fields_are_validated(client, admin):
    base = {"name": "x", "kind": "cash_off", "amount_off_fen": 100, "total_stock": 10,
            "validity": {"type": "relative", "days": 1}}
    for bad in ({"daily_limit": 0}, {"daily_limit": "3"}, {"skus": []}, {"skus": ["bad sku"]}, {"skus": ["a", "a"]},
                {"return_on_refund": "yes"}):
        assert client.post("/admin/coupon-templates", {**base, **bad}, token=admin).status == 400, bad
    out = ok(client.post("/admin/coupon-templates", {**base, "daily_limit": 3, "skus": ["latte"],
                                                     "return_on_refund": True}, token=admin), 201)
    assert (out["daily_limit"], out["skus"], out["return_on_refund"]) == (3, ["latte"], True)


# --------------------------------------------------------------------------------------------- sku scope


def test_sku_scope_at_the_till_online_and_at_the_pos(client, actors, admin, shop, wechat):
    t = template(client, admin, kind="percent_off", amount_off_fen=None, percent_off=50, skus=["latte"])
    c = campaign(client, admin, [t])
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    shopper = actors.member("amy")
    token = shopper["token"]
    coupons = [ok(claim(client, token, c, t), 201)["coupon"] for _ in range(4)]
    assert coupons[0]["skus"] == ["latte"]

    # At the till: the clerk gives the lines; the discount is on the latte lines only (50% of 2 × 3000).
    lines = [{"sku": "latte", "qty": 2, "price_fen": 3000}, {"sku": "beans", "qty": 1, "price_fen": 8000}]
    v = ok(client.post("/verifications", {"code": coupons[0]["code"], "store_id": "s1", "items": lines},
                       token=clerk), 201)
    assert v["discount_fen"] == 3000 and v["spend_fen"] == 14000
    resp = client.post("/verifications", {"code": coupons[1]["code"], "store_id": "s1",
                                          "items": [{"sku": "beans", "qty": 1, "price_fen": 8000}]}, token=clerk)
    assert error(resp) == "COUPON_NOT_APPLICABLE"

    # Online: an order without a latte line is refused; with one, only the latte line is discounted.
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "beans", "qty": 1}],
                                   "coupon_id": coupons[1]["coupon_id"]}, token=token)
    assert error(resp) == "COUPON_NOT_APPLICABLE"
    both = [{"sku": "beans", "qty": 1}, {"sku": "latte", "qty": 1}]
    order = ok(client.post("/orders", {"store_id": "s1", "items": both, "coupon_id": coupons[1]["coupon_id"]},
                           token=token), 201)["order"]
    assert (order["total_fen"], order["discount_fen"]) == (11000, 1500)

    # POS: a sale without a latte line refuses the coupon (the sale itself is recorded); with one, it is redeemed.
    refused = pos_sale(client, shop, "S-1", [{"sku": "beans", "qty": 1, "price_fen": 8000}], [coupons[2]["code"]])
    assert refused["coupons_rejected"] == [{"code": coupons[2]["code"], "error": "COUPON_NOT_APPLICABLE"}]
    taken = pos_sale(client, shop, "S-2", [{"sku": "latte", "qty": 1, "price_fen": 3000}], [coupons[2]["code"]])
    assert taken["coupons_redeemed"] == [coupons[2]["code"]]


# --------------------------------------------------------------------------------------------- return on refund


def pay(client, wechat, token, body):
    order = ok(client.post("/orders", body, token=token), 201)["order"]
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order["order_id"]}, timeout=10).ok
    return order


def test_a_refunded_order_gives_its_coupon_back_when_the_template_says_so(client, actors, admin, shop, wechat):
    back, kept = template(client, admin, return_on_refund=True), template(client, admin)
    c = campaign(client, admin, [back, kept])
    manager = actors.staff("boss", "manager", ["s1"])["token"]
    token = actors.member("amy")["token"]
    for t, expected in ((back, "active"), (kept, "redeemed")):
        coupon = ok(claim(client, token, c, t), 201)["coupon"]
        order = pay(client, wechat, token, {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}],
                                            "coupon_id": coupon["coupon_id"]})
        ok(client.post(f"/orders/{order['order_id']}/refund", {"reason": "退货"}, token=manager))
        assert wechat.pay.wait_for_deliveries()
        assert ok(client.get(f"/orders/{order['order_id']}", token=token))["status"] == "refunded"
        mine = {x["coupon_id"]: x for x in ok(client.get("/me/coupons", token=token))["items"]}
        assert mine[coupon["coupon_id"]]["status"] == expected, t


# --------------------------------------------------------------------------------------------- welcome gift


def test_the_welcome_gift_is_given_once_whatever_path_and_however_many_purchases(client, actors, admin, shop, wechat,
                                                                                 cloud):
    gift = template(client, admin, name="新人礼")
    assert client.request("PUT", "/admin/welcome-gift", json_body={"template_id": "t_nope"}, token=admin).status == 400
    assert ok(client.request("PUT", "/admin/welcome-gift", json_body={"template_id": gift},
                             token=admin))["template_id"] == gift
    amy = actors.member("amy")
    orders = [ok(client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]},
                             token=amy["token"]), 201)["order"] for _ in range(4)]
    all_at_once(4, lambda i: requests.post(wechat.base_url + "/_sim/pay", json={"order_id": orders[i]["order_id"]},
                                           timeout=20))
    assert wechat.pay.wait_for_deliveries()
    member_code = ok(client.get("/me/member-code", token=amy["token"]))["code"]
    pos_sale(client, shop, "S-9", [{"sku": "latte", "qty": 1, "price_fen": 3000}], [], member_code)
    cloud.drain_streams()
    cloud.redeliver_streams()  # the stream redelivered: still one gift
    cloud.drain_streams()
    gifts = [x for x in ok(client.get("/me/coupons", token=amy["token"]))["items"] if x["template_id"] == gift]
    assert len(gifts) == 1 and gifts[0]["status"] == "active"

    # a member made by a verification gets one too; none once the gift is switched off
    t = template(client, admin)
    c = campaign(client, admin, [t])
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    ben, cat = actors.member("ben")["token"], actors.member("cat")["token"]
    ok(client.post("/verifications", {"code": ok(claim(client, ben, c, t), 201)["coupon"]["code"], "store_id": "s1",
                                      "spend_fen": 5000},
                   token=clerk), 201)
    cloud.drain_streams()
    assert [x["template_id"] for x in ok(client.get("/me/coupons", token=ben))["items"]].count(gift) == 1
    ok(client.request("PUT", "/admin/welcome-gift", json_body={"template_id": None}, token=admin))
    ok(client.post("/verifications", {"code": ok(claim(client, cat, c, t), 201)["coupon"]["code"], "store_id": "s1",
                                      "spend_fen": 5000},
                   token=clerk), 201)
    cloud.drain_streams()
    assert [x["template_id"] for x in ok(client.get("/me/coupons", token=cat))["items"]].count(gift) == 0


# --------------------------------------------------------------------------------------------- exchange codes


def test_exchange_codes_are_unguessable_used_once_and_keep_the_template_limits(client, actors, admin, cloud):
    t = template(client, admin, per_member_limit=1, total_stock=2)
    assert client.post(f"/admin/coupon-templates/{t}/exchange-codes", {"count": 10_001}, token=admin).status == 400
    assert client.post(f"/admin/coupon-templates/{t}/exchange-codes", {"count": 0}, token=admin).status == 400
    assert client.post("/admin/coupon-templates/t_nope/exchange-codes", {"count": 1}, token=admin).status == 404
    batch = ok(client.post(f"/admin/coupon-templates/{t}/exchange-codes", {"count": 5}, token=admin), 201)
    codes = batch["codes"]
    assert len(set(codes)) == 5 and all(len(c) == 16 and c.isalnum() and c.isupper() for c in codes)
    stored = json.dumps(boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"])
    assert not any(c in stored for c in codes)  # kept only as keyed hashes

    amy, ben, cat = (actors.member(n)["token"] for n in ("amy", "ben", "cat"))
    typed = codes[0][:4] + "-" + codes[0][4:8].lower() + " " + codes[0][8:]
    coupon = ok(client.post("/me/coupons/exchange", {"code": typed}, token=amy), 201)["coupon"]
    assert coupon["template_id"] == t
    assert error(client.post("/me/coupons/exchange", {"code": codes[0]}, token=ben)) == "CODE_ALREADY_USED"
    assert error(client.post("/me/coupons/exchange", {"code": "0" * 16}, token=ben)) == "CODE_NOT_FOUND"
    assert error(client.post("/me/coupons/exchange", {"code": "short"}, token=ben)) == "CODE_NOT_FOUND"
    # the template's per-member limit and stock still apply, and a refused exchange leaves the code unused
    assert error(client.post("/me/coupons/exchange", {"code": codes[1]}, token=amy)) == "CLAIM_LIMIT_REACHED"
    ok(client.post("/me/coupons/exchange", {"code": codes[1]}, token=ben), 201)
    assert error(client.post("/me/coupons/exchange", {"code": codes[2]}, token=cat)) == "SOLD_OUT"


# --------------------------------------------------------------------------------------------- preview


def test_the_preview_ranks_every_coupon_held_and_reserves_nothing(client, actors, admin, shop):
    small, big = template(client, admin, amount_off_fen=500), template(client, admin, amount_off_fen=2000)
    minimum = template(client, admin, amount_off_fen=5000, min_spend_fen=100_000)
    scoped = template(client, admin, amount_off_fen=3000, skus=["beans"])
    c = campaign(client, admin, [small, big, minimum, scoped])
    token = actors.member("amy")["token"]
    ids = {t: ok(claim(client, token, c, t), 201)["coupon"]["coupon_id"] for t in (small, big, minimum, scoped)}
    cart = {"store_id": "s1", "items": [{"sku": "latte", "qty": 2}]}
    out = ok(client.post("/orders/preview", cart, token=token))
    assert [(x["coupon_id"], x["discount_fen"], x["applicable"]) for x in out["coupons"][:2]] == [
        (ids[big], 2000, True), (ids[small], 500, True)]
    reasons = {x["coupon_id"]: x.get("reason") for x in out["coupons"][2:]}
    assert reasons == {ids[minimum]: "MIN_SPEND_NOT_MET", ids[scoped]: "COUPON_NOT_APPLICABLE"}
    assert (out["best_coupon_id"], out["total_fen"], out["discount_fen"], out["payable_fen"]) == (
        ids[big], 6000, 2000, 4000)
    with_beans = ok(client.post("/orders/preview", {**cart, "items": [{"sku": "latte", "qty": 2},
                                                                      {"sku": "beans", "qty": 1}]}, token=token))
    assert with_beans["best_coupon_id"] == ids[scoped] and with_beans["discount_fen"] == 3000
    chosen = ok(client.post("/orders/preview", {**cart, "coupon_id": ids[small]}, token=token))
    assert chosen["discount_fen"] == 500 and chosen["best_coupon_id"] == ids[big]
    # nothing reserved: every coupon is still active and the stock untouched
    assert all(x["status"] == "active" for x in ok(client.get("/me/coupons", token=token))["items"])
    stock = {p["sku"]: p["stock"] for p in ok(client.get("/stores/s1/products", token=token))["items"]}
    assert stock["latte"] == 50
    assert client.post("/orders/preview", {"store_id": "s1", "items": []}, token=token).status == 400


def test_exchange_code_guesses_are_limited_per_shopper(client, actors, admin):
    guesser = actors.member("code-guesser")["token"]
    honest = actors.member("code-honest")["token"]
    for _ in range(10):
        assert error(client.post("/me/coupons/exchange", {"code": "0" * 16}, token=guesser)) == "CODE_NOT_FOUND"
    limited = client.post("/me/coupons/exchange", {"code": "1" * 16}, token=guesser)
    assert limited.status == 429 and limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    # another shopper is not locked out by the guesser
    assert error(client.post("/me/coupons/exchange", {"code": "0" * 16}, token=honest)) == "CODE_NOT_FOUND"
