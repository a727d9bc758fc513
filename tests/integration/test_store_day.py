"""The store's own day through the routes: visits by slot, pickups waiting, verifications, the manager's numbers;
each scoped to the caller's stores (admins any), with member display data only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from local.testing import ok
from tests.integration.test_appointments import book, slot, today
from tests.integration.test_claims import claim, new_campaign, new_template
from tests.integration.test_orders import order, pay

pytestmark = pytest.mark.notifiable


@pytest.fixture
def crew(client, actors):
    actors.store("s1")
    actors.store("s2")
    return {"admin": actors.admin["token"], "clerk": actors.staff("day-clerk", "clerk", ["s1"]),
            "manager": actors.staff("day-manager", "manager", ["s1"]),
            "other": actors.staff("day-other", "manager", ["s2"])}


def test_visits_of_a_day_in_slot_order_with_display_data_only(client, actors, crew, day) -> None:
    ann, bob = actors.member("visit-ann"), actors.member("visit-bob")
    late = ok(book(client, ann["token"], "s1", slot(day, "16:00"), note="window seat"), 201)
    early = ok(book(client, bob["token"], "s1", slot(day, "11:00")), 201)
    ok(book(client, bob["token"], "s2", slot(day, "12:00")), 201)  # another store's
    ok(client.post(f"/appointments/{early['appointment_id']}/check-in", token=crew["clerk"]["token"]))
    got = ok(client.get("/stores/s1/appointments", query={"date": day.isoformat()}, token=crew["clerk"]["token"]))
    assert got["store_id"] == "s1" and got["date"] == day.isoformat()
    assert [(v["appointment_id"], v["status"]) for v in got["items"]] == [
        (early["appointment_id"], "checked_in"), (late["appointment_id"], "booked")]
    assert got["items"][1]["note"] == "window seat"
    assert got["items"][1]["member"] == {"member_id": ann["member_id"], "is_member": False, "tier": "bronze"}
    text = str(got)
    assert "openid" not in text and "phone" not in text and "o_" not in text
    booked = ok(client.get("/stores/s1/appointments", query={"date": day.isoformat(), "status": "booked"},
                           token=crew["admin"]))
    assert [v["appointment_id"] for v in booked["items"]] == [late["appointment_id"]]
    page = ok(client.get("/stores/s1/appointments", query={"date": day.isoformat(), "limit": 1},
                         token=crew["manager"]["token"]))
    assert len(page["items"]) == 1 and page["next"]
    rest = ok(client.get("/stores/s1/appointments", query={"date": day.isoformat(), "cursor": page["next"]},
                         token=crew["manager"]["token"]))
    assert [v["appointment_id"] for v in rest["items"]] == [late["appointment_id"]]
    empty = ok(client.get("/stores/s1/appointments", token=crew["clerk"]["token"]))  # today by default
    assert empty["date"] == today().isoformat() and empty["items"] == []


def test_store_views_are_scoped_to_the_callers_stores(client, actors, crew, day) -> None:
    shopper = actors.member("scope-shopper")["token"]
    for path in ("/stores/s1/appointments", "/stores/s1/orders", "/stores/s1/verifications"):
        for token in (crew["other"]["token"], shopper):
            resp = client.get(path, token=token)
            assert resp.status == 403 and resp.json()["error"]["code"] == "FORBIDDEN", (path, resp.body)
        assert client.get(path, token=crew["admin"]).status == 200
        assert client.get(path.replace("s1", "nowhere"), token=crew["admin"]).status == 404
        assert client.get(path).status == 401
    assert client.get("/stores/s1/analytics", token=crew["clerk"]["token"]).status == 403  # managers only
    assert client.get("/stores/s1/analytics", token=crew["other"]["token"]).status == 403
    for bad in ("2026-13-01", "tomorrow", "2026-1-1"):
        resp = client.get("/stores/s1/appointments", query={"date": bad}, token=crew["clerk"]["token"])
        assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "date", bad
    assert client.get("/stores/s1/orders", query={"status": "cancelled"}, token=crew["clerk"]["token"]).status == 400
    assert client.get("/stores/s1/appointments", query={"cursor": "e30"}, token=crew["clerk"]["token"]).status == 400


def test_a_revoked_clerk_loses_the_store_views_with_the_old_token(client, crew) -> None:
    clerk = crew["clerk"]
    assert client.get("/stores/s1/appointments", token=clerk["token"]).status == 200
    ok(client.delete(f"/admin/staff/{clerk['member_id']}", token=crew["admin"]))
    assert client.get("/stores/s1/appointments", token=clerk["token"]).status == 403


def test_pickups_waiting_oldest_first_until_picked_up(client, actors, crew, cloud, wechat) -> None:
    admin = crew["admin"]
    ok(client.post("/admin/products", {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 9}},
                   token=admin), 201)
    shoppers = [actors.member(f"pick-{i}")["token"] for i in range(3)]
    orders = [ok(order(client, t), 201)["order"]["order_id"] for t in shoppers]
    for order_id in orders[:2]:
        pay(wechat, order_id)
    cloud.drain_streams()
    clerk = crew["clerk"]["token"]
    waiting = ok(client.get("/stores/s1/orders", query={"status": "paid"}, token=clerk))
    assert sorted(o["order_id"] for o in waiting["items"]) == sorted(orders[:2])  # the unpaid one is not waiting
    paid = [o["paid_at"] for o in waiting["items"]]
    assert paid == sorted(paid)  # oldest payment first
    assert all(o["status"] == "paid" and o.get("pickup_code") is None for o in waiting["items"])
    first = ok(client.get("/stores/s1/orders", query={"limit": 1}, token=clerk))
    assert [o["order_id"] for o in first["items"]] == [waiting["items"][0]["order_id"]] and first["next"]
    code = ok(client.get(f"/orders/{orders[0]}", token=shoppers[0]))["pickup_code"]
    ok(client.post(f"/orders/{orders[0]}/pickup", {"pickup_code": code}, token=clerk))
    # at once (the order is read again), and the index entry goes with the stream
    assert [o["order_id"] for o in ok(client.get("/stores/s1/orders", token=clerk))["items"]] == orders[1:2]
    cloud.drain_streams()
    from storeloop.data import store_day

    assert [str(m.order_id) for m in store_day.PickupWaiting.query(store_day.pickups_pk("s1"))] == orders[1:2]
    assert ok(client.get("/stores/s2/orders", token=crew["other"]["token"]))["items"] == []


def test_the_days_verifications_with_reversed(client, actors, crew, cloud) -> None:
    admin = crew["admin"]
    t = new_template(client, admin, total_stock=10)["template_id"]
    c = new_campaign(client, admin, [t])["campaign_id"]
    codes = [ok(claim(client, actors.member(f"v-{i}")["token"], c, t), 201)["coupon"]["code"] for i in range(2)]
    done = [ok(client.post("/verifications", {"code": code, "store_id": "s1", "spend_fen": 5000},
                           token=crew["clerk"]["token"]), 201)
            for code in codes]
    ok(client.post(f"/verifications/{done[0]['verification_id']}/reversal", token=crew["manager"]["token"]))
    got = ok(client.get("/stores/s1/verifications", token=crew["clerk"]["token"]))
    assert {(v["verification_id"], v["reversed"]) for v in got["items"]} == {
        (done[1]["verification_id"], False), (done[0]["verification_id"], True)}
    stamps = [v["verified_at"] for v in got["items"]]
    assert stamps == sorted(stamps, reverse=True)  # latest first
    by_id = {v["verification_id"]: v for v in got["items"]}
    assert by_id[done[0]["verification_id"]]["reversed_at"] and by_id[done[1]["verification_id"]]["reversed_at"] is None
    assert by_id[done[1]["verification_id"]]["discount_fen"] == 1000
    assert by_id[done[1]["verification_id"]]["verified_by"] == crew["clerk"]["member_id"]
    assert "member_id" not in got["items"][0]
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert ok(client.get("/stores/s1/verifications", query={"date": yesterday}, token=admin))["items"] == []
    assert ok(client.get("/stores/s2/verifications", token=crew["other"]["token"]))["items"] == []


def test_the_managers_numbers_are_the_admin_analytics(client, actors, crew, cloud) -> None:
    admin = crew["admin"]
    t = new_template(client, admin, total_stock=10)["template_id"]
    c = new_campaign(client, admin, [t])["campaign_id"]
    code = ok(claim(client, actors.member("n-1")["token"], c, t), 201)["coupon"]["code"]
    ok(client.post("/verifications", {"code": code, "store_id": "s1", "spend_fen": 5000},
                   token=crew["clerk"]["token"]), 201)
    cloud.drain_streams()
    mine = ok(client.get("/stores/s1/analytics", token=crew["manager"]["token"]))
    assert mine == ok(client.get("/admin/analytics/stores/s1", token=admin))
    assert mine["totals"]["redemptions"] == 1
    span = {"from": today().isoformat(), "to": today().isoformat()}
    assert ok(client.get("/stores/s1/analytics", query=span, token=admin))["days"][0]["redemptions"] == 1
    assert client.get("/stores/s1/analytics", query={"from": "x"}, token=crew["manager"]["token"]).status == 400
