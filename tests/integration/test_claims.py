"""Claiming and holding coupons through the routes: claims, limits, stock shards, idempotency, my coupons, QR."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339


def error(resp):
    return resp.json()["error"]["code"]


def new_template(client, token, **fields):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 100,
            "validity": {"type": "relative", "days": 7}, **fields}
    resp = client.post("/admin/coupon-templates", body, token=token)
    assert resp.status == 201, resp.body
    return resp.json()


def new_campaign(client, token, template_ids, *, publish=True, starts_in=timedelta(minutes=-1),
                 lasts=timedelta(days=2)):
    starts = clock.now() + starts_in
    resp = client.post("/admin/campaigns", {"name": "Double 11", "starts_at": to_rfc3339(starts),
                                            "ends_at": to_rfc3339(starts + lasts), "template_ids": template_ids},
                       token=token)
    assert resp.status == 201, resp.body
    campaign = resp.json()
    if publish:
        pub = client.post(f"/admin/campaigns/{campaign['campaign_id']}/publish", token=token)
        assert pub.status == 200, pub.body
    return campaign


def claim(client, token, campaign_id, template_id, **kw):
    return client.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id}, token=token, **kw)


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]


def remaining(client, token, campaign_id, template_id):
    resp = client.get(f"/campaigns/{campaign_id}", token=token)
    assert resp.status == 200, resp.body
    return next(t["remaining"] for t in resp.json()["templates"] if t["template_id"] == template_id)


# --------------------------------------------------------------------------------------------- claim


def test_a_claim_returns_the_coupon_and_takes_one_from_stock(client, actors, admin):
    actors.store("s1")
    t = new_template(client, admin, min_spend_fen=5000, store_ids=["s1"], channels=["store"])
    c = new_campaign(client, admin, [t["template_id"]])
    member = actors.member()
    resp = claim(client, member["token"], c["campaign_id"], t["template_id"])
    assert resp.status == 201, resp.body
    coupon = resp.json()["coupon"]
    assert set(coupon) == {"coupon_id", "template_id", "campaign_id", "code", "status", "kind", "amount_off_fen",
                           "min_spend_fen", "valid_from", "valid_until", "store_ids", "channels", "claimed_at",
                           "source"}  # issue 9: where the shopper came from (direct here)
    assert coupon["status"] == "active" and coupon["kind"] == "cash_off" and coupon["amount_off_fen"] == 1000
    assert len(coupon["code"]) == 12 and coupon["code"].isdigit()
    assert coupon["min_spend_fen"] == 5000 and coupon["store_ids"] == ["s1"] and coupon["channels"] == ["store"]
    assert coupon["campaign_id"] == c["campaign_id"] and coupon["template_id"] == t["template_id"]
    valid_from, valid_until = clock.parse_rfc3339(coupon["valid_from"]), clock.parse_rfc3339(coupon["valid_until"])
    assert valid_until - valid_from == timedelta(days=7) and coupon["valid_from"].endswith("+08:00")
    assert remaining(client, member["token"], c["campaign_id"], t["template_id"]) == 99
    mine = client.get("/me/coupons", token=member["token"]).json()
    assert mine == {"items": [coupon], "next": None}
    # The stored item keeps the shape the orders and POS code read.
    stored = {i["PK"]["S"]: i for i in table_items(client.gateway.cloud)}
    item = stored[f"COUPON#{coupon['coupon_id']}"]
    assert item["SK"]["S"] == "COUPON" and item["member_id"]["S"] == member["member_id"]
    assert item["GSI1PK"]["S"] == f"MEMBER#{member['member_id']}#COUPONS"
    assert stored[f"CODE#{coupon['code']}"]["coupon_id"]["S"] == coupon["coupon_id"]


def test_percent_and_gift_coupons_carry_their_terms(client, actors, admin):
    pct = new_template(client, admin, kind="percent_off", amount_off_fen=None, percent_off=15, max_off_fen=3000)
    gift = new_template(client, admin, kind="gift", amount_off_fen=None, gift_sku="SKU-COOKIE",
                        validity={"type": "fixed", "starts_at": to_rfc3339(clock.now()),
                                  "ends_at": to_rfc3339(clock.now() + timedelta(days=30))})
    c = new_campaign(client, admin, [pct["template_id"], gift["template_id"]])
    token = actors.member()["token"]
    a = claim(client, token, c["campaign_id"], pct["template_id"]).json()["coupon"]
    assert (a["kind"], a["percent_off"], a["max_off_fen"]) == ("percent_off", 15, 3000) and "amount_off_fen" not in a
    b = claim(client, token, c["campaign_id"], gift["template_id"]).json()["coupon"]
    assert (b["kind"], b["gift_sku"]) == ("gift", "SKU-COOKIE")
    assert b["valid_until"] == gift["validity"]["ends_at"]  # a fixed window, whenever claimed


def test_per_member_limit_then_claim_limit_reached(client, actors, admin):
    t = new_template(client, admin, per_member_limit=2)
    c = new_campaign(client, admin, [t["template_id"]])
    token = actors.member()["token"]
    assert [claim(client, token, c["campaign_id"], t["template_id"]).status for _ in range(2)] == [201, 201]
    resp = claim(client, token, c["campaign_id"], t["template_id"])
    assert resp.status == 409 and error(resp) == "CLAIM_LIMIT_REACHED"
    assert remaining(client, token, c["campaign_id"], t["template_id"]) == 98  # the refused claim took nothing
    other = actors.member("shopper-2")["token"]
    assert claim(client, other, c["campaign_id"], t["template_id"]).status == 201  # the limit is per member


def test_last_unit_then_sold_out(client, actors, admin):
    t = new_template(client, admin, total_stock=1)
    c = new_campaign(client, admin, [t["template_id"]])
    assert claim(client, actors.member("a")["token"], c["campaign_id"], t["template_id"]).status == 201
    resp = claim(client, actors.member("b")["token"], c["campaign_id"], t["template_id"])
    assert resp.status == 409 and error(resp) == "SOLD_OUT"
    assert remaining(client, actors.member("b")["token"], c["campaign_id"], t["template_id"]) == 0


def test_a_claim_finds_the_one_shard_with_stock_left(client, actors, admin, cloud):
    t = new_template(client, admin, total_stock=250)  # 3 shards of 84, 83, 83
    c = new_campaign(client, admin, [t["template_id"]])
    ddb = boto3.client("dynamodb", region_name=REGION)
    shards = sorted(i["PK"]["S"] for i in table_items(cloud) if i["PK"]["S"].startswith(f"STOCK#{t['template_id']}#"))
    assert len(shards) == 3
    # Leave a single unit, in the last shard: whichever shard a claim picks first, it must find that unit.
    for pk, units in zip(shards, (0, 0, 1), strict=True):
        ddb.update_item(TableName=cloud.ref("MainTable"), Key={"PK": {"S": pk}, "SK": {"S": "STOCK"}},
                        UpdateExpression="SET remaining = :n", ExpressionAttributeValues={":n": {"N": str(units)}})
    token = actors.member()["token"]
    assert remaining(client, token, c["campaign_id"], t["template_id"]) == 1
    assert claim(client, token, c["campaign_id"], t["template_id"]).status == 201
    resp = claim(client, actors.member("late")["token"], c["campaign_id"], t["template_id"])
    assert resp.status == 409 and error(resp) == "SOLD_OUT"
    assert remaining(client, token, c["campaign_id"], t["template_id"]) == 0


def test_claims_only_while_the_campaign_is_live(client, actors, admin, travel):
    t = new_template(client, admin)
    token = actors.member()["token"]
    draft = new_campaign(client, admin, [t["template_id"]], publish=False)
    scheduled = new_campaign(client, admin, [t["template_id"]], starts_in=timedelta(hours=1))
    cancelled = new_campaign(client, admin, [t["template_id"]])
    assert client.post(f"/admin/campaigns/{cancelled['campaign_id']}/cancel", token=admin).status == 200
    for campaign in (draft, scheduled, cancelled):
        resp = claim(client, token, campaign["campaign_id"], t["template_id"])
        assert resp.status == 409 and error(resp) == "CAMPAIGN_NOT_LIVE", campaign
    travel(timedelta(hours=2))  # the scheduled one has started
    assert claim(client, token, scheduled["campaign_id"], t["template_id"]).status == 201
    travel(timedelta(days=3))  # and ended
    resp = claim(client, actors.member("late")["token"], scheduled["campaign_id"], t["template_id"])
    assert resp.status == 409 and error(resp) == "CAMPAIGN_NOT_LIVE"


def test_unknown_campaign_or_template_is_404_and_nothing_is_written(client, actors, admin, cloud):
    t = new_template(client, admin)
    other = new_template(client, admin)
    c = new_campaign(client, admin, [t["template_id"]])
    token = actors.member()["token"]
    before = len(table_items(cloud))
    for campaign_id, template_id in (("cp_nope", t["template_id"]), (c["campaign_id"], "t_nope"),
                                     (c["campaign_id"], other["template_id"])):
        resp = claim(client, token, campaign_id, template_id)
        assert resp.status == 404 and error(resp) == "NOT_FOUND", (campaign_id, template_id)
    assert len(table_items(cloud)) == before


@pytest.mark.parametrize("body, field", [
    ({}, "template_id"),
    ({"template_id": 5}, "template_id"),
    ({"template_id": ""}, "template_id"),
    ({"template_id": "t/../x"}, "template_id"),
    ({"template_id": ["t_1"]}, "template_id"),
    ({"template_id": "t_1", "qty": 2}, "qty"),
    ([], "body"),
])
def test_bad_claim_bodies_are_400_naming_the_field(client, actors, admin, cloud, body, field):
    t = new_template(client, admin)
    c = new_campaign(client, admin, [t["template_id"]])
    token = actors.member()["token"]
    before = len(table_items(cloud))
    resp = client.post(f"/campaigns/{c['campaign_id']}/claims", body, token=token)
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    assert field in {d["field"] for d in resp.json()["error"]["details"]}
    assert len(table_items(cloud)) == before


def test_malformed_json_and_no_token(client, actors, admin):
    t = new_template(client, admin)
    c = new_campaign(client, admin, [t["template_id"]])
    token = actors.member()["token"]
    resp = client.request("POST", f"/campaigns/{c['campaign_id']}/claims", raw=b'{"template_id": ', token=token,
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    resp = client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": t["template_id"]})
    assert resp.status == 401 and error(resp) == "UNAUTHENTICATED"


def test_idempotency_key_returns_the_first_claim_once(client, actors, admin):
    t = new_template(client, admin, per_member_limit=5)
    c = new_campaign(client, admin, [t["template_id"]])
    member = actors.member()["token"]
    first = claim(client, member, c["campaign_id"], t["template_id"], headers={"Idempotency-Key": "claim-1"})
    again = claim(client, member, c["campaign_id"], t["template_id"], headers={"Idempotency-Key": "claim-1"})
    assert first.status == again.status == 201 and first.json() == again.json()
    assert remaining(client, member, c["campaign_id"], t["template_id"]) == 99
    other_body = client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": "t_other"}, token=member,
                             headers={"Idempotency-Key": "claim-1"})
    assert other_body.status == 409 and error(other_body) == "IDEMPOTENCY_KEY_REUSED"
    # Keys are scoped to the caller: another member with the same key gets a coupon of their own.
    theirs = claim(client, actors.member("other")["token"], c["campaign_id"], t["template_id"],
                   headers={"Idempotency-Key": "claim-1"})
    assert theirs.status == 201 and theirs.json()["coupon"]["coupon_id"] != first.json()["coupon"]["coupon_id"]


# --------------------------------------------------------------------------------------------- my coupons


def test_my_coupons_by_status_and_expired_on_read(client, actors, admin, travel):
    short = new_template(client, admin, validity={"type": "relative", "days": 1})
    long = new_template(client, admin, validity={"type": "relative", "days": 30})
    c = new_campaign(client, admin, [short["template_id"], long["template_id"]], lasts=timedelta(days=10))
    token = actors.member()["token"]
    a = claim(client, token, c["campaign_id"], short["template_id"]).json()["coupon"]
    b = claim(client, token, c["campaign_id"], long["template_id"]).json()["coupon"]

    def ids(status=None):
        resp = client.get("/me/coupons", token=token, query={"status": status})
        assert resp.status == 200, resp.body
        return {i["coupon_id"]: i["status"] for i in resp.json()["items"]}

    assert ids("active") == {a["coupon_id"]: "active", b["coupon_id"]: "active"}
    travel(timedelta(days=2))
    assert ids() == {a["coupon_id"]: "expired", b["coupon_id"]: "active"}
    assert ids("active") == {b["coupon_id"]: "active"}
    assert ids("expired") == {a["coupon_id"]: "expired"}
    assert ids("redeemed") == {}
    # Another member sees none of them.
    assert client.get("/me/coupons", token=actors.member("x")["token"]).json() == {"items": [], "next": None}


def test_my_coupons_paginate_newest_first_with_a_cursor_of_my_own(client, actors, admin, travel):
    t = new_template(client, admin, per_member_limit=5)
    c = new_campaign(client, admin, [t["template_id"]])
    token = actors.member()["token"]
    claimed = []
    for i in range(5):
        travel(timedelta(seconds=i))  # distinct claim times: the list is ordered by claim
        claimed.append(claim(client, token, c["campaign_id"], t["template_id"]).json()["coupon"]["coupon_id"])
    seen, cursor, pages = [], None, 0
    while True:
        resp = client.get("/me/coupons", token=token, query={"limit": 2, "cursor": cursor})
        assert resp.status == 200, resp.body
        page = resp.json()
        assert len(page["items"]) <= 2
        seen += [i["coupon_id"] for i in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == claimed[::-1] and pages == 3
    first = client.get("/me/coupons", token=token, query={"limit": 2}).json()["next"]
    # A cursor names a place in one member's list: another member cannot use it to read this one.
    resp = client.get("/me/coupons", token=actors.member("thief")["token"], query={"cursor": first})
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"


@pytest.mark.parametrize("query", [
    {"status": "lost"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "%%%"}, {"cursor": "bm90LWpzb24"},
    {"cursor": "eyJQSyI6IngifQ"},  # {"PK":"x"}: JSON, but not a key of this list
])
def test_bad_list_queries_are_400(client, actors, query):
    resp = client.get("/me/coupons", token=actors.member()["token"], query=query)
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED", resp.body


# --------------------------------------------------------------------------------------------- QR


def test_qr_token_for_the_owner_only(client, actors, admin):
    t = new_template(client, admin)
    c = new_campaign(client, admin, [t["template_id"]])
    owner = actors.member()["token"]
    coupon = claim(client, owner, c["campaign_id"], t["template_id"]).json()["coupon"]
    resp = client.get(f"/me/coupons/{coupon['coupon_id']}/qr", token=owner)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert set(body) == {"qr", "expires_in"} and body["expires_in"] == 60 and body["qr"].count(".") == 2
    for token, coupon_id in ((actors.member("someone-else")["token"], coupon["coupon_id"]), (owner, "c_nope")):
        resp = client.get(f"/me/coupons/{coupon_id}/qr", token=token)
        assert resp.status == 404 and error(resp) == "NOT_FOUND"


def test_no_qr_for_a_used_or_expired_coupon(client, actors, admin, travel):
    actors.store("s1")
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    t = new_template(client, admin, per_member_limit=2, validity={"type": "relative", "days": 1})
    c = new_campaign(client, admin, [t["template_id"]], lasts=timedelta(days=5))
    owner = actors.member()["token"]
    used = claim(client, owner, c["campaign_id"], t["template_id"]).json()["coupon"]
    kept = claim(client, owner, c["campaign_id"], t["template_id"]).json()["coupon"]
    assert client.post("/verifications", {"code": used["code"], "store_id": "s1", "spend_fen": 5000},
                       token=clerk).status == 201
    resp = client.get(f"/me/coupons/{used['coupon_id']}/qr", token=owner)
    assert resp.status == 409 and error(resp) == "COUPON_ALREADY_REDEEMED"
    travel(timedelta(days=2))
    resp = client.get(f"/me/coupons/{kept['coupon_id']}/qr", token=owner)
    assert resp.status == 409 and error(resp) == "COUPON_EXPIRED"


@pytest.mark.parametrize("odd", ["x" * 3000, "%E4%B8%AD", "a%2Fb", "-"])
def test_odd_path_ids_are_404_never_5xx(client, actors, admin, odd):
    token = actors.member()["token"]
    for method, path, body, who in (("GET", f"/campaigns/{odd}", None, token),
                                    ("POST", f"/campaigns/{odd}/claims", {"template_id": "t_1"}, token),
                                    ("GET", f"/me/coupons/{odd}/qr", None, token),
                                    ("POST", f"/admin/campaigns/{odd}/publish", None, admin),
                                    ("POST", f"/admin/campaigns/{odd}/cancel", None, admin),
                                    ("POST", f"/verifications/{odd}/reversal", None, admin)):
        resp = client.request(method, path, json_body=body, token=who)
        assert resp.status == 404 and error(resp) == "NOT_FOUND", (method, path[:50], resp.body[:200])
