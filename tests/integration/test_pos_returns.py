"""POST /webhooks/pos/{store_id}/returns: a return at the till takes back the points its share of the sale earned
(never below zero), gives back the sale's coupons whose template says return_on_refund, nets the store's analytics,
answers a replay the same, and refuses unknown sales (404) and more than was sold (409 RETURN_EXCEEDS_SALE)."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.integration.test_pos_webhook import new_coupon
from tests.integration.test_webhooks import pos_post


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only


def error(resp):
    return resp.json()["error"]["code"]


@pytest.fixture
def till(client, actors):
    actors.store("s1")
    secret = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]
    shopper = actors.member()
    return {"secret": secret, "token": shopper["token"], "member_id": shopper["member_id"]}


def sell(client, till, sale_id="S-1", items=(("latte", 2, 3000), ("cookie", 1, 800)), coupon_codes=()):
    code = client.get("/me/member-code", token=till["token"]).json()["code"]
    body = {"sale_id": sale_id, "member_code": code, "total_fen": sum(q * p for _, q, p in items),
            "items": [{"sku": s, "qty": q, "price_fen": p} for s, q, p in items], "coupon_codes": list(coupon_codes),
            "occurred_at": to_rfc3339(clock.now())}
    resp = pos_post(client, "/webhooks/pos/s1", body, till["secret"])
    assert resp.status == 200, resp.body
    return resp.json()


def give_back(client, till, return_id="R-1", sale_id="S-1", items=(("latte", 1, 3000),), total_fen=None, at=None):
    body = {"return_id": return_id, "sale_id": sale_id,
            "items": [{"sku": s, "qty": q, "price_fen": p} for s, q, p in items],
            "total_fen": total_fen if total_fen is not None else sum(q * p for _, q, p in items),
            "occurred_at": at or to_rfc3339(clock.now())}
    return pos_post(client, "/webhooks/pos/s1/returns", body, till["secret"])


def me(client, till):
    return client.get("/me", token=till["token"]).json()


def ledger(client, till):
    entries = client.get("/me/points", token=till["token"]).json()["items"]
    return [(e["reason"], e["delta"], e["shortfall"]) for e in entries]


def test_partial_returns_take_back_exactly_what_a_whole_return_would(client, till):
    assert sell(client, till)["points_earned"] == 68  # ¥68
    first = give_back(client, till, "R-1", items=(("latte", 1, 3000),))
    assert first.status == 200, first.body
    assert first.json() == {"return_id": "R-1", "sale_id": "S-1", "member_id": till["member_id"],
                            "points_clawed_back": 30, "points_shortfall": 0, "coupons_returned": []}
    second = give_back(client, till, "R-2", items=(("latte", 1, 3000), ("cookie", 1, 800)))
    assert second.json()["points_clawed_back"] == 38
    profile = me(client, till)
    assert profile["points"] == 0 and profile["lifetime_spend_fen"] == 0
    assert ledger(client, till) == [("pos_return_clawback", -38, 0), ("pos_return_clawback", -30, 0),
                                    ("pos_sale_earned", 68, None)]


def test_points_already_spent_are_not_taken_below_zero(client, till, cloud):
    sell(client, till)
    # The member spent 60 of the 68 points meanwhile (written directly: orders are tested elsewhere).
    boto3.client("dynamodb", region_name=REGION).update_item(  # test only
        TableName=cloud.ref("MainTable"), Key={"PK": {"S": f"MEMBER#{till['member_id']}"}, "SK": {"S": "PROFILE"}},
        UpdateExpression="SET points = :p", ExpressionAttributeValues={":p": {"N": "8"}})
    resp = give_back(client, till, items=(("latte", 2, 3000), ("cookie", 1, 800)))
    assert resp.status == 200 and resp.json()["points_clawed_back"] == 8 and resp.json()["points_shortfall"] == 60
    assert me(client, till)["points"] == 0
    assert ledger(client, till)[0] == ("pos_return_clawback", -8, 60)


def test_the_same_return_again_answers_the_same_and_changes_nothing(client, till, cloud):
    sell(client, till)
    at = to_rfc3339(clock.now())  # a replay is the same bytes, to the second
    first = give_back(client, till, at=at)
    before = sorted(map(str, table_items(cloud)))
    again = give_back(client, till, at=at)
    assert again.status == 200 and again.json() == first.json()
    assert sorted(map(str, table_items(cloud))) == before
    altered = give_back(client, till, items=(("cookie", 1, 800),), at=at)
    assert altered.status == 409 and error(altered) == "IDEMPOTENCY_KEY_REUSED"
    assert sorted(map(str, table_items(cloud))) == before


def test_unknown_sales_and_returns_beyond_the_sale_are_refused(client, till, cloud):
    sell(client, till)
    before = sorted(map(str, table_items(cloud)))
    unknown = give_back(client, till, sale_id="S-nope")
    assert unknown.status == 404 and error(unknown) == "SALE_NOT_FOUND"
    for items, total in ((( "latte", 3, 3000),), None), ((("tea", 1, 100),), None), ((("latte", 1, 3000),), 7000):
        resp = give_back(client, till, items=items, total_fen=total)
        assert resp.status == 409 and error(resp) == "RETURN_EXCEEDS_SALE", resp.body
    assert sorted(map(str, table_items(cloud))) == before
    assert give_back(client, till, "R-a", items=(("latte", 2, 3000),)).status == 200
    over = give_back(client, till, "R-b", items=(("latte", 1, 3000),))  # the two lattes are back already
    assert over.status == 409 and error(over) == "RETURN_EXCEEDS_SALE"


def test_unsigned_or_stale_returns_are_401_and_change_nothing(client, till, cloud):
    sell(client, till)
    before = sorted(map(str, table_items(cloud)))
    raw = json.dumps({"return_id": "R-1", "sale_id": "S-1", "items": [], "total_fen": 100,
                      "occurred_at": to_rfc3339(clock.now())}).encode()
    for ts, sig in ((str(int(time.time())), "ab" * 32), (str(int(time.time()) - 400), "ab" * 32), ("", "")):
        resp = client.request("POST", "/webhooks/pos/s1/returns", raw=raw, headers={
            "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})
        assert resp.status == 401, resp.body
    bad = give_back(client, till, items=(("latte", 0, 3000),))
    assert bad.status == 400
    assert sorted(map(str, table_items(cloud))) == before


def test_a_whole_return_gives_back_coupons_whose_template_says_so(client, till, actors):
    admin = actors.admin["token"]
    back = new_coupon(client, admin, till["token"], return_on_refund=True)
    kept = new_coupon(client, admin, till["token"])
    sell(client, till, coupon_codes=[back["code"], kept["code"]])
    partial = give_back(client, till, "R-1", items=(("cookie", 1, 800),))
    assert partial.json()["coupons_returned"] == []  # the sale is not all returned yet
    whole = give_back(client, till, "R-2", items=(("latte", 2, 3000),))
    assert whole.status == 200 and whole.json()["coupons_returned"] == [back["coupon_id"]]
    statuses = {c["coupon_id"]: c["status"] for c in client.get("/me/coupons", token=till["token"]).json()["items"]}
    assert statuses == {back["coupon_id"]: "active", kept["coupon_id"]: "redeemed"}


def test_a_template_says_whether_a_refund_gives_its_coupon_back(client, actors):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 10,
            "validity": {"type": "relative", "days": 7}}
    admin = actors.admin["token"]
    assert client.post("/admin/coupon-templates", body, token=admin).json()["return_on_refund"] is False
    made = client.post("/admin/coupon-templates", {**body, "return_on_refund": True}, token=admin)
    assert made.status == 201 and made.json()["return_on_refund"] is True
    assert client.post("/admin/coupon-templates", {**body, "return_on_refund": "yes"}, token=admin).status == 400


def test_store_analytics_are_net_of_the_return(client, till, actors, cloud):
    sell(client, till)
    give_back(client, till, items=(("latte", 1, 3000),))
    cloud.drain_streams()
    day = clock.now().astimezone(clock.CN_TZ).date().isoformat()
    body = client.get("/admin/analytics/stores/s1", token=actors.admin["token"], query={"from": day, "to": day})
    assert body.status == 200, body.body
    [today] = [d for d in body.json()["days"] if d["date"] == day]
    assert (today["orders"], today["revenue_fen"], today["refunds"]) == (1, 6800 - 3000, 1)
