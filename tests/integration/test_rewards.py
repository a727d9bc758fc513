"""(issue 10) The points mall through the routes: a coupon reward issued as a claim (template stock and limit
apply), a gift with a pickup code handed over by staff once; points, reward stock and the issued coupon or gift in
one transaction with a `reward_redeemed` ledger entry; too few points, sold out, bad input answered 4xx; the
store's reward counters."""

from __future__ import annotations

import pytest
import requests

from storeloop.domain import clock

pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    body = {"sku": "beans", "name": "咖啡豆", "price_fen": 100_000, "stock": {"s1": 50}}  # 1,000 points each
    assert client.post("/admin/products", body, token=admin).status == 201
    template = client.post("/admin/coupon-templates", {
        "name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 2, "per_member_limit": 1,
        "validity": {"type": "relative", "days": 30}}, token=admin).json()
    return {"admin": admin, "template_id": template["template_id"]}


def earn(client, wechat, token, qty=1):
    """Points the way a shopper gets them: a paid order (1,000 points per unit here)."""
    order = client.post("/orders", {"store_id": "s1", "items": [{"sku": "beans", "qty": qty}]}, token=token)
    assert order.status == 201, order.body
    requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order.json()["order"]["order_id"]}, timeout=10)
    assert client.get("/me", token=token).json()["points"] >= 1000 * qty


def new_reward(client, admin, **fields):
    resp = client.post("/admin/rewards", {"name": "R", "points": 300, "stock": 5, **fields}, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()


def redeem(client, token, reward_id, **body):
    return client.post(f"/rewards/{reward_id}/redemptions", body, token=token)


def ledger(client, token):
    return client.get("/me/points", token=token, query={"limit": 100}).json()["items"]


def test_a_coupon_reward_is_issued_as_a_claim_would_be(client, actors, shop, wechat):
    reward = new_reward(client, shop["admin"], kind="coupon", template_id=shop["template_id"])
    assert reward["remaining"] == 5 and reward["kind"] == "coupon"
    token = actors.member()["token"]
    earn(client, wechat, token)
    assert [r["reward_id"] for r in client.get("/rewards", token=token).json()["items"]] == [reward["reward_id"]]
    resp = redeem(client, token, reward["reward_id"])
    assert resp.status == 201, resp.body
    body = resp.json()
    assert body["points_spent"] == 300 and body["coupon"]["template_id"] == shop["template_id"]
    assert body["coupon"]["status"] == "active" and len(body["coupon"]["code"]) == 12 and body["pickup_code"] is None
    held = client.get("/me/coupons", token=token).json()["items"]
    assert [c["coupon_id"] for c in held] == [body["coupon"]["coupon_id"]]
    assert client.get("/me", token=token).json()["points"] == 1000 - 300
    entries = ledger(client, token)
    assert [e["delta"] for e in entries if e["reason"] == "reward_redeemed"] == [-300]
    assert sum(e["delta"] for e in entries) == 700
    assert client.get("/rewards", token=token).json()["items"][0]["remaining"] == 4
    # The template's per-member limit applies, as to a claim: nothing is spent on a refusal.
    again = redeem(client, token, reward["reward_id"])
    assert again.status == 409 and again.json()["error"]["code"] == "CLAIM_LIMIT_REACHED"
    assert client.get("/me", token=token).json()["points"] == 700
    assert client.get("/rewards", token=token).json()["items"][0]["remaining"] == 4
    # And the template's stock (2): a second member takes the last unit, a third finds it sold out.
    for code, expected in (("second", 201), ("third", 409)):
        other = actors.member(code)["token"]
        earn(client, wechat, other)
        got = redeem(client, other, reward["reward_id"])
        assert got.status == expected, got.body
    assert got.json()["error"]["code"] == "SOLD_OUT"
    assert client.get("/me", token=other).json()["points"] == 1000


def test_a_gift_is_handed_over_by_staff_against_its_pickup_code_once(client, actors, shop, wechat, cloud):
    reward = new_reward(client, shop["admin"], kind="gift", sku="beans", points=500, stock=1)
    token = actors.member()["token"]
    earn(client, wechat, token)
    missing = redeem(client, token, reward["reward_id"])
    assert missing.status == 400 and missing.json()["error"]["details"][0]["field"] == "store_id"
    resp = redeem(client, token, reward["reward_id"], store_id="s1")
    assert resp.status == 201, resp.body
    gift = resp.json()
    assert len(gift["pickup_code"]) == 6 and gift["coupon"] is None and gift["status"] == "issued"
    sold = redeem(client, actors.member("other")["token"], reward["reward_id"], store_id="s1")
    assert sold.status == 409 and sold.json()["error"]["code"] == "SOLD_OUT"
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    rid = gift["redemption_id"]
    assert client.get(f"/redemptions/{rid}", token=clerk).json()["pickup_code"] is None  # staff are told it
    wrong = client.post(f"/redemptions/{rid}/pickup", {"pickup_code": "000000" if gift["pickup_code"] != "000000"
                                                       else "111111"}, token=clerk)
    assert wrong.status == 409 and wrong.json()["error"]["code"] == "PICKUP_CODE_MISMATCH"
    outsider = client.post(f"/redemptions/{rid}/pickup", {"pickup_code": gift["pickup_code"]},
                           token=actors.member("nobody")["token"])
    assert outsider.status == 403
    done = client.post(f"/redemptions/{rid}/pickup", {"pickup_code": gift["pickup_code"]}, token=clerk)
    assert done.status == 200 and done.json()["status"] == "picked_up" and done.json()["picked_up_at"]
    twice = client.post(f"/redemptions/{rid}/pickup", {"pickup_code": gift["pickup_code"]}, token=clerk)
    assert twice.status == 409 and twice.json()["error"]["code"] == "ALREADY_PICKED_UP"
    cloud.drain_streams()
    day = clock.now().astimezone(clock.CN_TZ).date().isoformat()
    totals = client.get(f"/admin/analytics/stores/s1?from={day}&to={day}", token=shop["admin"]).json()["totals"]
    assert (totals["rewards_redeemed"], totals["points_spent"]) == (1, 500)


def test_too_few_points_spend_nothing(client, actors, shop):
    reward = new_reward(client, shop["admin"], kind="gift", sku="beans", points=1)
    token = actors.member()["token"]
    resp = redeem(client, token, reward["reward_id"], store_id="s1")
    assert resp.status == 409 and resp.json()["error"]["code"] == "INSUFFICIENT_POINTS"
    assert client.get("/rewards", token=token).json()["items"][0]["remaining"] == 5
    assert ledger(client, token) == []
    assert redeem(client, token, "rw_nope", store_id="s1").status == 404
    assert redeem(client, token, reward["reward_id"], store_id="nowhere").status == 404


@pytest.mark.parametrize("body", [
    {"name": "R", "points": 0, "kind": "gift", "sku": "beans", "stock": 1},
    {"name": "R", "points": -5, "kind": "gift", "sku": "beans", "stock": 1},
    {"name": "R", "points": 10, "kind": "gift", "sku": "beans", "stock": 0},
    {"name": "R", "points": 10, "kind": "gift", "sku": "beans", "stock": -1},
    {"name": "R", "points": 10, "kind": "gift", "stock": 1},
    {"name": "R", "points": 10, "kind": "coupon", "stock": 1},
    {"name": "R", "points": 10, "kind": "coupon", "template_id": "nope", "stock": 1},
    {"name": "R", "points": 10, "kind": "gift", "sku": "unknown", "stock": 1},
    {"name": "R", "points": 10, "kind": "other", "sku": "beans", "stock": 1},
    {"name": "", "points": 10, "kind": "gift", "sku": "beans", "stock": 1},
])
def test_bad_rewards_are_a_clear_400(client, shop, body):
    resp = client.post("/admin/rewards", body, token=shop["admin"])
    assert resp.status == 400, resp.body
    assert resp.json()["error"]["code"] == "VALIDATION_FAILED"


def test_only_admins_create_rewards(client, actors, shop):
    body = {"name": "R", "points": 10, "kind": "gift", "sku": "beans", "stock": 1}
    assert client.post("/admin/rewards", body, token=actors.member()["token"]).status == 403
