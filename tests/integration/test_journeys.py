"""Journeys through the routes: a `joined` journey acting from the stream, time triggers run by the schedule with
the clock moved, re-entry windows, counters after stream redelivery, and bad input."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

import pytest
import requests

from local.wechat_fake import openid_for
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ

MSG = "Jrn7Wc1mQk0ZbC7s5d1XyTqLm3nOpW8vYu4aHgJe6i"
SCHEDULE = "storeloop-local-journeys"


pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    for sku, name, price in (("latte", "拿铁", 3200), ("beans", "咖啡豆", 8800), ("cake", "蛋糕", 2800)):
        body = {"sku": sku, "name": name, "price_fen": price, "stock": {"s1": 100}}
        assert client.post("/admin/products", body, token=admin).status == 201
    tpl = client.post("/admin/coupon-templates", {
        "name": "回归礼", "kind": "cash_off", "amount_off_fen": 500, "total_stock": 100, "per_member_limit": 1,
        "validity": {"type": "relative", "days": 7}}, token=admin)
    assert tpl.status == 201, tpl.body
    return {"admin": admin, "template_id": tpl.json()["template_id"]}


def journey(client, admin, **body):
    resp = client.post("/admin/journeys", {"name": "回来看看", **body}, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()


def consenting_member(client, actors, code):
    who = actors.member(code)
    assert client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                       token=who["token"]).status == 201
    assert client.post("/me/message-subscriptions", {"results": {MSG: "accept"}}, token=who["token"]).status == 200
    return who


def buy(client, wechat, who, *skus):
    body = {"store_id": "s1", "items": [{"sku": s, "qty": 1} for s in skus]}
    order = client.post("/orders", body, token=who["token"])
    assert order.status == 201, order.body
    paid = requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order.json()["order"]["order_id"]},
                         timeout=10)
    assert paid.status_code == 200, paid.text
    return order.json()["order"]


def counters(client, admin, journey_id):
    body = client.get(f"/admin/journeys/{journey_id}", token=admin).json()
    return body["entered"], body["actions_done"], body["converted"]


def my_coupons_of(client, who, template_id):
    items = client.get("/me/coupons", token=who["token"]).json()["items"]
    return [c for c in items if c.get("template_id") == template_id]


def test_joined_journey_grants_and_messages_only_who_consented(cloud, client, actors, wechat, msg, shop):
    admin, tpl = shop["admin"], shop["template_id"]
    j = journey(client, admin, trigger={"type": "joined"},
                actions=[{"type": "grant_coupon", "template_id": tpl}, {"type": "message", "template_id": MSG}])
    yes = consenting_member(client, actors, "jr-yes")
    no = actors.member("jr-no")
    buy(client, wechat, yes, "latte")  # the first purchase makes each a member: `joined` on the stream
    buy(client, wechat, no, "latte")
    cloud.drain_streams()
    cloud.drain_queues()
    assert len(my_coupons_of(client, yes, tpl)) == 1
    assert len(my_coupons_of(client, no, tpl)) == 1  # the coupon needs no consent; the message does
    assert len(msg.messages(touser=openid_for("jr-yes"), template_id=MSG)) == 1
    assert msg.messages(touser=openid_for("jr-no")) == []
    assert counters(client, admin, j["journey_id"]) == (2, 3, 0)
    # A purchase within 14 days of entering converts; the joining purchase itself came before the entry.
    buy(client, wechat, yes, "cake")
    cloud.drain_streams()
    assert counters(client, admin, j["journey_id"]) == (2, 3, 1)


def test_stream_redelivery_changes_no_counter(cloud, client, actors, wechat, shop):
    admin, tpl = shop["admin"], shop["template_id"]
    j = journey(client, admin, trigger={"type": "joined"}, actions=[{"type": "grant_coupon", "template_id": tpl}])
    who = actors.member("jr-redeliver")
    buy(client, wechat, who, "latte")
    cloud.drain_streams()
    before = counters(client, admin, j["journey_id"])
    assert before == (1, 1, 0)
    record = {"eventName": "MODIFY", "dynamodb": {
        "Keys": {"PK": {"S": f"MEMBER#{who['member_id']}"}, "SK": {"S": "PROFILE"}}, "SequenceNumber": "1",
        "OldImage": {"member_id": {"S": who["member_id"]}},
        "NewImage": {"member_id": {"S": who["member_id"]}, "joined_at": {"S": "2026-12-01T10:00:00+08:00"},
                     "status": {"S": "active"}}}}
    for _ in range(3):  # the same record delivered again, as Lambda does after a failure
        assert cloud.invoke("JourneysStreamFunction", {"Records": [record]}) == {"batchItemFailures": []}
    assert counters(client, admin, j["journey_id"]) == before
    assert len(my_coupons_of(client, who, tpl)) == 1


@contextlib.contextmanager
def on(day: date, hour: int = 10):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(clock, "now", lambda: datetime(day.year, day.month, day.day, hour, tzinfo=CN_TZ))
        yield


def test_no_purchase_for_days_enters_once_per_window(cloud, client, actors, wechat, shop):
    admin, tpl = shop["admin"], shop["template_id"]
    d0 = clock.now().astimezone(CN_TZ).date()
    j = journey(client, admin, trigger={"type": "no_purchase_for_days", "days": 30}, reentry_days=40,
                actions=[{"type": "grant_coupon", "template_id": tpl}])
    lapsed = actors.member("jr-lapsed")
    buy(client, wechat, lapsed, "latte")
    with on(d0 + timedelta(days=29)):
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j["journey_id"])[0] == 0  # not yet 30 days
    with on(d0 + timedelta(days=30)):
        cloud.run_schedule(SCHEDULE)
        cloud.run_schedule(SCHEDULE)  # a rerun enters no one twice
    assert counters(client, admin, j["journey_id"])[:2] == (1, 1)
    with on(d0 + timedelta(days=31)):
        cloud.run_schedule(SCHEDULE)  # the catch-up days see them again: still inside the window
    assert counters(client, admin, j["journey_id"])[0] == 1
    off = client.request("PATCH", f"/admin/journeys/{j['journey_id']}", json_body={"active": False}, token=admin)
    assert off.status == 200 and off.json()["active"] is False
    with on(d0 + timedelta(days=30)):
        cloud.invoke("JourneysScheduleFunction", {})
    assert counters(client, admin, j["journey_id"])[0] == 1  # an inactive journey acts on no one


def test_reentry_after_the_window_and_not_before(cloud, client, actors, wechat, shop):
    admin = shop["admin"]
    d0 = clock.now().astimezone(CN_TZ).date()
    j = journey(client, admin, trigger={"type": "points_expiring", "days": 30}, reentry_days=7,
                actions=[{"type": "message", "template_id": MSG}])
    who = consenting_member(client, actors, "jr-points")
    buy(client, wechat, who, "beans")  # points expire POINTS_EXPIRY_DAYS after this purchase
    expiry_days = int(cloud.environment.get("POINTS_EXPIRY_DAYS", "365"))
    due = d0 + timedelta(days=expiry_days - 30)
    with on(due):
        cloud.run_schedule(SCHEDULE)
    with on(due + timedelta(days=1)):  # 29 days before: catch-up sees them, inside the 7-day window
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j["journey_id"])[0] == 1
    with on(due + timedelta(days=2)):
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j["journey_id"])[0] == 1
    # Shorter re-entry: a journey whose window has passed enters the same member again.
    j2 = journey(client, admin, trigger={"type": "points_expiring", "days": 30}, reentry_days=1,
                 actions=[{"type": "message", "template_id": MSG}])
    with on(due):
        cloud.run_schedule(SCHEDULE)
    with on(due + timedelta(days=2)):
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j2["journey_id"])[0] == 2


def test_coupon_expiring_trigger(cloud, client, actors, wechat, shop):
    admin, tpl = shop["admin"], shop["template_id"]
    start = clock.now()
    campaign = client.post("/admin/campaigns", {
        "name": "c", "starts_at": (start - timedelta(minutes=1)).isoformat(),
        "ends_at": (start + timedelta(days=1)).isoformat(), "template_ids": [tpl]}, token=admin).json()
    assert client.post(f"/admin/campaigns/{campaign['campaign_id']}/publish", token=admin).status == 200
    holder = actors.member("jr-holder")
    coupon = client.post(f"/campaigns/{campaign['campaign_id']}/claims", {"template_id": tpl},
                         token=holder["token"]).json()["coupon"]
    cloud.drain_streams()  # the coupon-expiry index
    j = journey(client, admin, trigger={"type": "coupon_expiring", "days": 2},
                actions=[{"type": "message", "template_id": MSG}])
    expires = datetime.fromisoformat(coupon["valid_until"]).astimezone(CN_TZ).date()
    with on(expires - timedelta(days=3)):
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j["journey_id"])[0] == 0
    with on(expires - timedelta(days=2)):
        cloud.run_schedule(SCHEDULE)
    assert counters(client, admin, j["journey_id"])[0] == 1


@pytest.mark.parametrize("body, field", [
    ({"trigger": {"type": "joined"}, "actions": []}, "actions"),
    ({"trigger": {"type": "no_purchase_for_days", "days": 0}, "actions": [{"type": "message", "template_id": MSG}]},
     "trigger"),
    ({"trigger": {"type": "points_expiring", "days": 366}, "actions": [{"type": "message", "template_id": MSG}]},
     "trigger"),
    ({"trigger": {"type": "points_expiring"}, "actions": [{"type": "message", "template_id": MSG}]}, "trigger"),
    ({"trigger": {"type": "joined"}, "actions": [{"type": "message"}]}, "actions"),
    ({"trigger": {"type": "joined"}, "actions": [{"type": "grant_coupon", "template_id": "t_missing"}]}, "actions"),
    ({"trigger": {"type": "joined"}, "segment_id": "sg_missing",
      "actions": [{"type": "message", "template_id": MSG}]}, "segment_id"),
    ({"trigger": {"type": "soon"}, "actions": [{"type": "message", "template_id": MSG}]}, "trigger"),
])
def test_bad_journeys_are_400(client, actors, body, field):
    resp = client.post("/admin/journeys", {"name": "bad", **body}, token=actors.admin["token"])
    assert resp.status == 400, resp.body
    assert field in resp.body.decode()


def test_only_admins_and_unknown_journeys(client, actors):
    shopper = actors.member("jr-shopper")["token"]
    assert client.post("/admin/journeys", {"name": "x", "trigger": {"type": "joined"},
                                           "actions": [{"type": "message", "template_id": MSG}]},
                       token=shopper).status == 403
    assert client.get("/admin/journeys/jr_nope", token=actors.admin["token"]).status == 404
    resp = client.request("PATCH", "/admin/journeys/jr_nope", json_body={"active": True}, token=actors.admin["token"])
    assert resp.status == 404
    assert client.get("/admin/journeys", token=actors.admin["token"]).json()["items"] == []


def test_an_erased_member_leaves_every_journey(cloud, client, actors, wechat, shop):
    admin, tpl = shop["admin"], shop["template_id"]
    j = journey(client, admin, trigger={"type": "joined"}, actions=[{"type": "grant_coupon", "template_id": tpl}])
    who = actors.member("jr-erased")
    buy(client, wechat, who, "latte", "cake")
    cloud.drain_streams()
    from storeloop.data import journeys as journey_data
    from storeloop.data import recommendations as rec_data

    assert journey_data.get_entry(who["member_id"], j["journey_id"]) is not None
    assert client.delete("/me", token=who["token"]).status == 200
    assert journey_data.get_entry(who["member_id"], j["journey_id"]) is None
    assert rec_data.recent_skus(who["member_id"], clock.now().astimezone(CN_TZ).date()) == {}
    # The co-purchase counts stay, and hold counts only: no member id anywhere in them.
    counts = rec_data.neighbours(["latte", "cake"])
    assert counts == {"latte": {"cake": 1}, "cake": {"latte": 1}}
    assert who["member_id"] not in repr(counts)
