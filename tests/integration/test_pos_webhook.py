"""POST /webhooks/pos/{store_id}: a till's sale, HMAC-signed with the store's secret, earns the member points and
redeems the coupons used, once per sale_id; anything unsigned, stale or for an unknown store changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import boto3
import pytest

from local.cloud import REGION
from storeloop import tokens
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only


def error(resp):
    return resp.json()["error"]["code"]


@pytest.fixture
def till(client, actors):
    """Store s1 with its POS secret, and a shopper with a fresh member code."""
    actors.store("s1")
    secret = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]
    shopper = actors.member()
    code = client.get("/me/member-code", token=shopper["token"]).json()
    return {"secret": secret, "token": shopper["token"], "member_id": shopper["member_id"], "code": code["code"]}


def sale(sale_id="S-1", **fields):
    return {"sale_id": sale_id, "total_fen": 5890, "items": [{"sku": "latte", "qty": 1, "price_fen": 5890}],
            "coupon_codes": [], "occurred_at": to_rfc3339(clock.now()), **fields}


def post(client, body, secret, store_id="s1", *, timestamp=None, signature=None, raw=None):
    raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature if signature is not None else hmac.new(secret.encode(), ts.encode() + b"." + raw,
                                                           hashlib.sha256).hexdigest()
    return client.request("POST", f"/webhooks/pos/{store_id}", raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})


def me(client, token):
    return client.get("/me", token=token).json()


def test_a_sale_with_a_member_code_earns_points_and_starts_membership(client, till):
    resp = post(client, sale(member_code=till["code"]), till["secret"])
    assert resp.status == 200, resp.body
    assert resp.json() == {"member_id": till["member_id"], "points_earned": 58, "coupons_redeemed": [],
                           "coupons_rejected": [], "coupon_sources": {}}  # issue 9
    profile = me(client, till["token"])
    assert profile["points"] == 58 and profile["is_member"] and profile["lifetime_spend_fen"] == 5890
    ledger = client.get("/me/points", token=till["token"]).json()["items"]
    assert [(e["reason"], e["delta"], e["sale_id"], e["store_id"]) for e in ledger] == [
        ("pos_sale_earned", 58, "S-1", "s1")]


def test_a_sale_without_a_member_is_recorded_with_no_points(client, till):
    resp = post(client, sale(), till["secret"])
    assert resp.status == 200 and resp.json()["member_id"] is None and resp.json()["points_earned"] == 0


def test_the_same_sale_id_again_answers_the_same_and_changes_nothing(client, till, cloud):
    first = post(client, sale(member_code=till["code"]), till["secret"])
    assert first.status == 200
    before = sorted(map(str, table_items(cloud)))
    for body in (sale(member_code=till["code"]), sale(total_fen=999_999), sale()):  # replays, even altered ones
        again = post(client, body, till["secret"])
        assert again.status == 200 and again.json() == first.json()
    assert sorted(map(str, table_items(cloud))) == before
    assert me(client, till["token"])["points"] == 58


def test_concurrent_copies_of_one_sale_earn_once(client, till):
    body = sale(member_code=till["code"])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(client, body, till["secret"]), range(8)))
    done = [a.json() for a in answers if a.status == 200]
    busy = [a for a in answers if a.status != 200]
    assert done and all(d == done[0] for d in done)
    assert all(a.status == 409 and error(a) == "IDEMPOTENCY_IN_PROGRESS" and a.headers.get("Retry-After") == "1"
               for a in busy)
    assert me(client, till["token"])["points"] == 58
    assert post(client, body, till["secret"]).json() == done[0]


@pytest.mark.parametrize("case", ["bad_signature", "other_secret", "stale", "future", "no_timestamp",
                                  "no_signature", "body_changed"])
def test_an_unsigned_or_stale_sale_is_401_and_changes_nothing(client, till, cloud, case):
    before = sorted(map(str, table_items(cloud)))
    body = sale(member_code=till["code"])
    raw = json.dumps(body).encode()
    now = int(time.time())
    good = hmac.new(till["secret"].encode(), f"{now}.".encode() + raw, hashlib.sha256).hexdigest()
    resp = {
        "bad_signature": lambda: post(client, body, till["secret"], signature="0" * 64),
        "other_secret": lambda: post(client, body, "not-the-secret"),
        "stale": lambda: post(client, body, till["secret"], timestamp=now - 301),
        "future": lambda: post(client, body, till["secret"], timestamp=now + 301),
        "no_timestamp": lambda: client.request("POST", "/webhooks/pos/s1", raw=raw,
                                               headers={"X-StoreLoop-Signature": good}),
        "no_signature": lambda: client.request("POST", "/webhooks/pos/s1", raw=raw,
                                               headers={"X-StoreLoop-Timestamp": str(now)}),
        "body_changed": lambda: client.request("POST", "/webhooks/pos/s1", raw=raw.replace(b"5890", b"9999"),
                                               headers={"X-StoreLoop-Timestamp": str(now),
                                                        "X-StoreLoop-Signature": good}),
    }[case]()
    assert resp.status == 401 and error(resp) == "UNAUTHENTICATED", (case, resp.body)
    assert sorted(map(str, table_items(cloud))) == before


def test_an_unknown_store_is_404_and_a_store_without_a_secret_401(client, till, actors):
    resp = post(client, sale(), till["secret"], store_id="nowhere")
    assert resp.status == 404 and error(resp) == "NOT_FOUND"
    actors.store("s2")
    resp = post(client, sale(), till["secret"], store_id="s2")
    assert resp.status == 401 and error(resp) == "UNAUTHENTICATED"


def test_a_rotated_secret_stops_the_old_one(client, till, actors):
    client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"])
    resp = post(client, sale(), till["secret"])
    assert resp.status == 401


@pytest.mark.parametrize("body, field", [
    ({"sale_id": ""}, "sale_id"), ({"total_fen": -1}, "total_fen"), ({"total_fen": 12.5}, "total_fen"),
    ({"total_fen": "58"}, "total_fen"), ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "2026-11-26T14:00:00"}, "occurred_at"), ({"items": [{"sku": "x", "qty": 0, "price_fen": 1}]},
                                                              "items.0.qty"),
    ({"coupon_codes": ["1", "1"]}, "coupon_codes"), ({"coupon_codes": "123"}, "coupon_codes"),
    ({"member_code": ""}, "member_code"), ({"extra": 1}, "extra"),
])
def test_a_signed_but_invalid_sale_is_400_and_changes_nothing(client, till, cloud, body, field):
    before = sorted(map(str, table_items(cloud)))
    resp = post(client, sale(**body), till["secret"])
    assert resp.status == 400, resp.body
    assert error(resp) == "VALIDATION_FAILED"
    assert any(d["field"] == field for d in resp.json()["error"]["details"]), resp.json()
    assert sorted(map(str, table_items(cloud))) == before
    raw = post(client, None, till["secret"], raw=b"{not json")
    assert raw.status == 400 and error(raw) == "VALIDATION_FAILED"


def test_a_member_code_that_is_forged_or_too_old_is_refused(client, till, cloud):
    before = sorted(map(str, table_items(cloud)))
    resp = post(client, sale(member_code=till["code"] + "x"), till["secret"])
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    # A code lives 120 s, and a till may report the sale up to 300 s after the scan: one shown 421 s ago is too old.
    key = cloud.environment["TOKEN_SIGNING_KEY"]
    old = tokens.issue(key, "member_code", till["member_id"], 120, now=time.time() - 421)
    resp = post(client, sale(member_code=old), till["secret"])
    assert resp.status == 409 and error(resp) == "MEMBER_CODE_EXPIRED", resp.body
    late_but_fine = tokens.issue(key, "member_code", till["member_id"], 120, now=time.time() - 400)
    assert post(client, sale("S-late", member_code=late_but_fine), till["secret"]).status == 200
    assert len(table_items(cloud)) > len(before)


def new_coupon(client, admin, token, **template):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 10,
            "validity": {"type": "relative", "days": 7}, **template}
    t = client.post("/admin/coupon-templates", body, token=admin).json()
    starts = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "C", "starts_at": to_rfc3339(starts),
                                         "ends_at": to_rfc3339(starts + timedelta(days=2)),
                                         "template_ids": [t["template_id"]]}, token=admin).json()
    assert client.post(f"/admin/campaigns/{c['campaign_id']}/publish", token=admin).status == 200
    got = client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": t["template_id"]}, token=token)
    assert got.status == 201, got.body
    return got.json()["coupon"]


def test_coupon_codes_are_redeemed_with_the_stores_rules_once(client, till, actors):
    admin = actors.admin["token"]
    good = new_coupon(client, admin, till["token"])
    online_only = new_coupon(client, admin, till["token"], channels=["online"])
    actors.store("s2")
    elsewhere = new_coupon(client, admin, till["token"], store_ids=["s2"])
    codes = [good["code"], online_only["code"], elsewhere["code"], "000000000000"]
    resp = post(client, sale(member_code=till["code"], coupon_codes=codes), till["secret"])
    assert resp.status == 200, resp.body
    assert resp.json()["coupons_redeemed"] == [good["code"]]
    assert resp.json()["coupons_rejected"] == [
        {"code": online_only["code"], "error": "COUPON_NOT_VALID_HERE"},
        {"code": elsewhere["code"], "error": "COUPON_NOT_VALID_HERE"},
        {"code": "000000000000", "error": "COUPON_NOT_FOUND"}]
    statuses = {c["coupon_id"]: c["status"] for c in client.get("/me/coupons", token=till["token"]).json()["items"]}
    assert statuses == {good["coupon_id"]: "redeemed", online_only["coupon_id"]: "active",
                        elsewhere["coupon_id"]: "active"}
    other_sale = post(client, sale("S-2", coupon_codes=[good["code"]]), till["secret"])
    assert other_sale.json()["coupons_rejected"] == [{"code": good["code"], "error": "COUPON_ALREADY_REDEEMED"}]
