"""Verification invariants under real threads through the routes: redeemed once, reversed once; and the analytics
the stream produced count the verifications not reversed (campaign, campaign-store and store-day redeemed)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.contention.racing import all_at_once, campaign_counters, store_totals


def outcome(resp):
    return resp.status if resp.status < 400 else resp.json()["error"]["code"]




def claimed_coupon(client, actors):
    admin = actors.admin["token"]
    t = client.post("/admin/coupon-templates", {"name": "c", "kind": "cash_off", "amount_off_fen": 500,
                                                "total_stock": 10, "validity": {"type": "relative", "days": 7}},
                    token=admin).json()["template_id"]
    start = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "c", "starts_at": to_rfc3339(start),
                                         "ends_at": to_rfc3339(start + timedelta(hours=1)), "template_ids": [t]},
                    token=admin).json()["campaign_id"]
    client.post(f"/admin/campaigns/{c}/publish", token=admin)
    shopper = actors.member("shopper")
    return shopper, client.post(f"/campaigns/{c}/claims", {"template_id": t}, token=shopper["token"]).json()["coupon"]


def redeemed_counts(cloud, client, actors, campaign_id):
    admin = actors.admin["token"]
    counted = campaign_counters(cloud, client, admin, campaign_id)
    by_store = {s["store_id"]: s["redeemed"] for s in counted["by_store"]}
    return counted["claimed"], counted["redeemed"], by_store, store_totals(cloud, client, admin, "s1")["redemptions"]


def test_50_tills_verify_one_code_at_once(client, actors, cloud):
    actors.store("s1")
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    shopper, coupon = claimed_coupon(client, actors)
    qr = client.get(f"/me/coupons/{coupon['coupon_id']}/qr", token=shopper["token"]).json()["qr"]
    codes = [coupon["code"] if i % 2 else qr for i in range(50)]  # the typed code and the scanned QR, mixed
    results = all_at_once(50, lambda i: client.post("/verifications", {"code": codes[i], "store_id": "s1",
                                                                       "spend_fen": 5000}, token=clerk))
    counts = Counter(outcome(r) for r in results)
    assert counts == {201: 1, "COUPON_ALREADY_REDEEMED": 49}, counts
    mine = client.get("/me/coupons", token=shopper["token"]).json()["items"]
    assert [c["status"] for c in mine] == ["redeemed"]
    assert redeemed_counts(cloud, client, actors, coupon["campaign_id"]) == (1, 1, {"s1": 1}, 1)


def test_10_managers_reverse_one_verification_at_once(client, actors, cloud):
    actors.store("s1")
    manager = actors.staff("manager", "manager", ["s1"])["token"]
    shopper, coupon = claimed_coupon(client, actors)
    vid = client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 5000},
                      token=manager).json()["verification_id"]
    results = all_at_once(10, lambda _: client.post(f"/verifications/{vid}/reversal", token=manager))
    counts = Counter(outcome(r) for r in results)
    assert counts == {200: 1, "ALREADY_REVERSED": 9}, counts
    mine = client.get("/me/coupons", token=shopper["token"]).json()["items"]
    assert [c["status"] for c in mine] == ["active"]
    assert redeemed_counts(cloud, client, actors, coupon["campaign_id"]) == (1, 0, {"s1": 0}, 0)
