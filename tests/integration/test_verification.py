"""Verification at the store through the routes: by code or QR, every error code, discounts, reversal."""

from __future__ import annotations

import time
from datetime import timedelta

import boto3
import jwt
import pytest

from local.cloud import LOCAL_SECRETS, REGION
from storeloop import tokens
from storeloop.data import members
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

KEY = LOCAL_SECRETS["TOKEN_SIGNING_KEY"]


def error(resp):
    return resp.json()["error"]["code"]


def table_items(cloud, *, guesses=False):
    """The table's items; failed-guess counters (GUESS#...) left out unless asked for."""
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]
    return [i for i in items if guesses or not i["PK"]["S"].startswith("GUESS#")]


class Shop:
    """Two stores, a clerk and a manager of s1, a clerk of s2, an admin, and a way to hand out coupons."""

    def __init__(self, client, actors):
        self.client = client
        self.actors = actors
        actors.store("s1")
        actors.store("s2")
        self.admin = actors.admin["token"]
        self.clerk = actors.staff("clerk-1", "clerk", ["s1"])["token"]
        self.manager = actors.staff("manager-1", "manager", ["s1"])["token"]
        self.clerk2 = actors.staff("clerk-2", "clerk", ["s2"])["token"]
        self.manager2 = actors.staff("manager-2", "manager", ["s2"])["token"]
        self.shopper = actors.member("shopper")

    def coupon(self, member=None, *, starts_in=timedelta(minutes=-1), **fields):
        body = {"name": "coupon", "kind": "cash_off", "amount_off_fen": 2000, "total_stock": 100,
                "validity": {"type": "relative", "days": 7}, **fields}
        t = self.client.post("/admin/coupon-templates", body, token=self.admin)
        assert t.status == 201, t.body
        start = clock.now() + starts_in
        c = self.client.post("/admin/campaigns", {"name": "c", "starts_at": to_rfc3339(start),
                                                  "ends_at": to_rfc3339(start + timedelta(days=1)),
                                                  "template_ids": [t.json()["template_id"]]}, token=self.admin)
        assert c.status == 201, c.body
        campaign_id = c.json()["campaign_id"]
        assert self.client.post(f"/admin/campaigns/{campaign_id}/publish", token=self.admin).status == 200
        who = member or self.shopper
        resp = self.client.post(f"/campaigns/{campaign_id}/claims", {"template_id": t.json()["template_id"]},
                                token=who["token"])
        assert resp.status == 201, resp.body
        return resp.json()["coupon"]

    def verify(self, code, store_id="s1", token=None, spend_fen=5000, **extra):
        bill = {} if spend_fen is None else {"spend_fen": spend_fen}  # None: the body leaves spend_fen out
        return self.client.post("/verifications", {"code": code, "store_id": store_id, **bill, **extra},
                                token=token or self.clerk)

    def qr(self, coupon, member=None):
        resp = self.client.get(f"/me/coupons/{coupon['coupon_id']}/qr", token=(member or self.shopper)["token"])
        assert resp.status == 200, resp.body
        return resp.json()["qr"]


@pytest.fixture
def shop(client, actors):
    return Shop(client, actors)


def test_verify_by_code_redeems_records_and_makes_a_member(shop, client, cloud):
    coupon = shop.coupon()
    assert members.get_profile(shop.shopper["member_id"]).joined_at is None
    resp = shop.verify(coupon["code"], spend_fen=5000)
    assert resp.status == 201, resp.body
    body = resp.json()
    assert body["verification_id"].startswith("v_") and body["discount_fen"] == 2000
    assert body["store_id"] == "s1" and body["spend_fen"] == 5000
    assert body["coupon"]["status"] == "redeemed" and body["coupon"]["redeemed_store_id"] == "s1"
    profile = members.get_profile(shop.shopper["member_id"])
    assert profile.joined_at and profile.joined_store_id == "s1" and profile.joined_campaign_id == coupon["campaign_id"]
    record = {i["PK"]["S"]: i for i in table_items(cloud)}[f"VERIFICATION#{body['verification_id']}"]
    assert record["store_id"]["S"] == "s1" and record["coupon_id"]["S"] == coupon["coupon_id"]
    assert record["staff_member_id"]["S"] and record["verified_at"]["S"] == body["verified_at"]
    mine = client.get("/me/coupons", token=shop.shopper["token"], query={"status": "redeemed"}).json()["items"]
    assert [c["coupon_id"] for c in mine] == [coupon["coupon_id"]]
    again = shop.verify(coupon["code"])
    assert again.status == 409 and error(again) == "COUPON_ALREADY_REDEEMED"


def test_verify_by_qr_token(shop):
    coupon = shop.coupon()
    resp = shop.verify(shop.qr(coupon), store_id="s2", token=shop.clerk2, spend_fen=5000)
    assert resp.status == 201 and resp.json()["coupon"]["coupon_id"] == coupon["coupon_id"]
    assert resp.json()["discount_fen"] == 2000


@pytest.mark.parametrize("terms, spend, discount", [
    ({"kind": "cash_off", "amount_off_fen": 2000}, 1500, 1500),  # capped at the spend
    ({"kind": "percent_off", "amount_off_fen": None, "percent_off": 15}, 999, 149),  # floored: 149.85
    ({"kind": "percent_off", "amount_off_fen": None, "percent_off": 15, "max_off_fen": 100}, 999, 100),
    ({"kind": "gift", "amount_off_fen": None, "gift_sku": "SKU-COOKIE"}, 3000, 0),
])
def test_discount_in_integer_fen(shop, terms, spend, discount):
    coupon = shop.coupon(**terms)
    resp = shop.verify(coupon["code"], spend_fen=spend)
    assert resp.status == 201, resp.body
    assert resp.json()["discount_fen"] == discount and isinstance(resp.json()["discount_fen"], int)


def test_spend_is_required_for_percent_off_and_minimum_spend(shop):
    for terms in ({"kind": "percent_off", "amount_off_fen": None, "percent_off": 10}, {"min_spend_fen": 5000},
                  {"kind": "cash_off", "amount_off_fen": 2000}):
        coupon = shop.coupon(**terms)
        resp = shop.verify(coupon["code"], spend_fen=None)
        assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "spend_fen"
        assert shop.verify(coupon["code"], spend_fen=6000).status == 201


def test_min_spend_not_met(shop):
    coupon = shop.coupon(min_spend_fen=10000)
    resp = shop.verify(coupon["code"], spend_fen=9999)
    assert resp.status == 409 and error(resp) == "MIN_SPEND_NOT_MET"
    assert shop.verify(coupon["code"], spend_fen=10000).status == 201


def test_not_valid_at_this_store_or_through_this_channel(shop):
    only_s2 = shop.coupon(store_ids=["s2"])
    resp = shop.verify(only_s2["code"])
    assert resp.status == 409 and error(resp) == "COUPON_NOT_VALID_HERE"
    online_only = shop.coupon(channels=["online"])
    resp = shop.verify(online_only["code"])
    assert resp.status == 409 and error(resp) == "COUPON_NOT_VALID_HERE"
    assert shop.verify(only_s2["code"], store_id="s2", token=shop.clerk2).status == 201


def test_not_yet_valid_then_expired(shop, travel):
    window = {"type": "fixed", "starts_at": to_rfc3339(clock.now() + timedelta(days=1)),
              "ends_at": to_rfc3339(clock.now() + timedelta(days=3))}
    later = shop.coupon(validity=window)
    resp = shop.verify(later["code"])
    assert resp.status == 409 and error(resp) == "COUPON_NOT_YET_VALID"
    soon = shop.coupon(validity={"type": "relative", "days": 1})
    travel(timedelta(days=2))
    resp = shop.verify(soon["code"])
    assert resp.status == 409 and error(resp) == "COUPON_EXPIRED"
    assert shop.verify(later["code"]).status == 201  # now inside its window


def test_unknown_forged_altered_and_stale_codes(shop, cloud):
    coupon = shop.coupon()
    genuine = shop.qr(coupon)
    header, payload, signature = genuine.split(".")
    forged = tokens.issue("someone-else-s-key-0123456789abcdef", "coupon_qr", coupon["coupon_id"], 60)
    other = jwt.utils.base64url_encode(b'{"typ":"coupon_qr","sub":"c_other","iat":1,"exp":9999999999}').decode()
    altered = f"{header}.{other}.{signature}"
    session = shop.shopper["token"]  # a genuine token of another type
    before = len(table_items(cloud))
    for code in ("000000000000", "12345", "not a code", forged, altered, session, genuine[:-2]):
        resp = shop.verify(code)
        assert resp.status == 404 and error(resp) == "COUPON_NOT_FOUND", code
    stale = tokens.issue(KEY, "coupon_qr", coupon["coupon_id"], 60, now=time.time() - 120)
    resp = shop.verify(stale)
    assert resp.status == 409 and error(resp) == "QR_EXPIRED"
    assert len(table_items(cloud)) == before  # nothing redeemed, nothing recorded
    assert shop.verify(genuine).status == 201


def test_only_staff_of_that_store(shop, client, cloud):
    coupon = shop.coupon()
    before = len(table_items(cloud))
    for token in (shop.clerk2, shop.manager2, shop.shopper["token"]):
        resp = shop.verify(coupon["code"], store_id="s1", token=token)
        assert resp.status == 403 and error(resp) == "NOT_STORE_STAFF"
    resp = shop.verify(coupon["code"], store_id="s9", token=shop.clerk)
    assert resp.status == 403 and error(resp) == "NOT_STORE_STAFF"
    resp = shop.verify(coupon["code"], store_id="s9", token=shop.admin)
    assert resp.status == 404 and error(resp) == "NOT_FOUND"
    assert client.post("/verifications", {"code": coupon["code"], "store_id": "s1"}).status == 401
    assert len(table_items(cloud)) == before
    assert shop.verify(coupon["code"], store_id="s1", token=shop.admin).status == 201  # HQ can verify anywhere


@pytest.mark.parametrize("body, field", [
    ({"store_id": "s1"}, "code"),
    ({"code": "", "store_id": "s1"}, "code"),
    ({"code": 123456789012, "store_id": "s1"}, "code"),
    ({"code": "1" * 3000, "store_id": "s1"}, "code"),
    ({"code": "123456789012"}, "store_id"),
    ({"code": "123456789012", "store_id": "s 1"}, "store_id"),
    ({"code": "123456789012", "store_id": "s1", "spend_fen": "100"}, "spend_fen"),
    ({"code": "123456789012", "store_id": "s1", "spend_fen": 10.5}, "spend_fen"),
    ({"code": "123456789012", "store_id": "s1", "spend_fen": -1}, "spend_fen"),
    ({"code": "123456789012", "store_id": "s1", "discount_fen": 1}, "discount_fen"),
])
def test_bad_verification_bodies(shop, cloud, body, field):
    before = len(table_items(cloud))
    resp = shop.client.post("/verifications", body, token=shop.clerk)
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    assert field in {d["field"] for d in resp.json()["error"]["details"]}
    assert len(table_items(cloud)) == before


def test_verification_idempotency_key(shop):
    coupon = shop.coupon()
    first = shop.client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 5000},
                             token=shop.clerk, headers={"Idempotency-Key": "till-7-0001"})
    again = shop.client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 5000},
                             token=shop.clerk, headers={"Idempotency-Key": "till-7-0001"})
    assert first.status == again.status == 201 and first.json() == again.json()


# --------------------------------------------------------------------------------------------- reversal


def test_reversal_by_a_manager_restores_the_coupon_once(shop, client):
    coupon = shop.coupon()
    vid = shop.verify(coupon["code"]).json()["verification_id"]
    for token in (shop.clerk, shop.manager2, shop.shopper["token"]):
        resp = client.post(f"/verifications/{vid}/reversal", token=token)
        assert resp.status == 403 and error(resp) == "FORBIDDEN"
    resp = client.post(f"/verifications/{vid}/reversal", token=shop.manager)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["status"] == "reversed" and body["verification_id"] == vid
    assert body["coupon"]["status"] == "active" and "redeemed_at" not in body["coupon"]
    mine = client.get("/me/coupons", token=shop.shopper["token"], query={"status": "active"}).json()["items"]
    assert [c["coupon_id"] for c in mine] == [coupon["coupon_id"]]
    again = client.post(f"/verifications/{vid}/reversal", token=shop.manager)
    assert again.status == 409 and error(again) == "ALREADY_REVERSED"
    # The restored coupon can be used again, and that new verification can be reversed in its turn.
    second = shop.verify(coupon["code"])
    assert second.status == 201
    assert client.post(f"/verifications/{second.json()['verification_id']}/reversal", token=shop.admin).status == 200
    assert client.post(f"/verifications/{vid}/reversal", token=shop.manager).status == 409


def test_reversal_within_24_hours_only(shop, client, travel):
    coupon = shop.coupon(validity={"type": "relative", "days": 30})
    vid = shop.verify(coupon["code"]).json()["verification_id"]
    travel(timedelta(hours=24, minutes=1))
    resp = client.post(f"/verifications/{vid}/reversal", token=shop.manager)
    assert resp.status == 409 and error(resp) == "REVERSAL_WINDOW_CLOSED"
    resp = client.post("/verifications/v_nope/reversal", token=shop.manager)
    assert resp.status == 404 and error(resp) == "NOT_FOUND"


def test_reversal_idempotency_key_replays_the_first_answer(shop, client):
    coupon = shop.coupon()
    vid = shop.verify(coupon["code"]).json()["verification_id"]
    first = client.post(f"/verifications/{vid}/reversal", token=shop.manager, headers={"Idempotency-Key": "r-1"})
    again = client.post(f"/verifications/{vid}/reversal", token=shop.manager, headers={"Idempotency-Key": "r-1"})
    assert first.status == again.status == 200 and first.json() == again.json()
    assert client.post(f"/verifications/{vid}/reversal", token=shop.manager).status == 409


def test_redeem_coupon_for_the_pos_adds_its_own_items_to_the_transaction(shop, cloud):
    """The service entry point the POS webhook uses: same rules, and the caller's items in the same transaction."""
    from storeloop.data.models import Entity
    from storeloop.services.verification import redeem_coupon

    class SaleMarker(Entity):
        pass

    coupon = shop.coupon()
    result = redeem_coupon(coupon["code"], "s1", 1000, None, "store",
                           tx_extra=lambda tx: tx.save(SaleMarker("POSSALE#s1#1", "SALE"),
                                                       condition=SaleMarker.PK.does_not_exist()))
    assert result["discount_fen"] == 1000 and result["member_id"] == shop.shopper["member_id"]
    assert result["coupon"]["status"] == "redeemed"
    assert any(i["PK"]["S"] == "POSSALE#s1#1" for i in table_items(cloud))
    # When the caller's own condition fails, nothing is redeemed and the data layer says so (NotRedeemed).
    from storeloop.data.verification import NotRedeemed

    other = shop.coupon()
    with pytest.raises(NotRedeemed):
        redeem_coupon(other["code"], "s1", 1000, None, "store",
                      tx_extra=lambda tx: tx.save(SaleMarker("POSSALE#s1#1", "SALE"),
                                                  condition=SaleMarker.PK.does_not_exist()))
    assert shop.verify(other["code"]).status == 201
