"""Each schedule run on demand (`cloud.run_schedule`, what `POST /_local/schedules/<name>/run` and
`python -m local.schedules` do) with its effect asserted: reminders queued, sent through the WeChat fake, once; the
nightly roll-up closing a day."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import pytest

from local.testing import ok
from local.wechat_fake import openid_for
from storeloop.data import analytics as analytics_data
from storeloop.data.connection import dynamodb_client
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339
from storeloop.settings import get_settings

REMINDER = "coupon-expiry-test-template"  # the campaign's reminder_template_id (no other test uses it)
VISIT = "visit-reminder-template"  # the visit schedule's Input in template.yaml
# The local stack is named storeloop-local; in AWS the names carry the stack's name the same way.
EXPIRY = "storeloop-local-coupon-expiry-reminders"
VISITS = "storeloop-local-visit-reminders"
ROLLUP = "storeloop-local-analytics-rollup"




def messaging_shopper(client, actors, code, template, grants=5):
    """A shopper who consented to marketing messages and accepted `grants` sends of `template` (the campaign flow
    may spend some on its own messages meanwhile)."""
    who = actors.member(code)
    ok(client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                   token=who["token"]), 201)
    for _ in range(grants):
        ok(client.post("/me/message-subscriptions", {"results": {template: "accept"}}, token=who["token"]))
    return who


def expiry_reminders(msg):
    """What the fake WeChat received from the expiry schedule (the campaign's own flow uses the same template)."""
    return [m for m in msg.messages(template_id=REMINDER) if (m["page"] or "").startswith("pages/coupons/detail")]


def template(client, admin, name, ends_at):
    body = {"name": name, "kind": "cash_off", "amount_off_fen": 500, "total_stock": 10,
            "validity": {"type": "fixed", "starts_at": to_rfc3339(clock.now() - timedelta(hours=1)),
                         "ends_at": to_rfc3339(ends_at)}}
    return ok(client.post("/admin/coupon-templates", body, token=admin), 201)["template_id"]


def test_the_schedules_are_registered_by_their_names(cloud):
    assert {EXPIRY, VISITS, ROLLUP} <= set(cloud.schedules)
    with pytest.raises(KeyError):
        cloud.run_schedule("storeloop-no-such-schedule")


def test_coupon_expiry_reminders_go_to_holders_of_active_coupons_expiring_in_24_to_48_hours(cloud, client, actors,
                                                                                          msg):
    admin = actors.admin["token"]
    actors.store("s1")
    now = clock.now()
    soon = template(client, admin, "满50减5", now + timedelta(hours=30))
    later = template(client, admin, "晚到的券", now + timedelta(hours=60))
    campaign = ok(client.post("/admin/campaigns", {
        "name": "初冬", "starts_at": to_rfc3339(now - timedelta(minutes=5)),
        "ends_at": to_rfc3339(now + timedelta(hours=20)), "template_ids": [soon, later],
        "reminder_template_id": REMINDER}, token=admin), 201)["campaign_id"]
    ok(client.post(f"/admin/campaigns/{campaign}/publish", token=admin))
    keen = messaging_shopper(client, actors, "keen", REMINDER)
    used = messaging_shopper(client, actors, "used", REMINDER)
    claims = {}
    for who, tmpl in ((keen, soon), (keen, later), (used, soon)):
        claims[who["member_id"], tmpl] = ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": tmpl},
                                                        token=who["token"]), 201)["coupon"]
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    ok(client.post("/verifications", {"code": claims[used["member_id"], soon]["code"], "store_id": "s1",
                                      "spend_fen": 5000},
                   token=clerk), 201)  # redeemed: nothing to remind
    cloud.drain_streams()  # the stream consumer indexes each coupon by its expiry day

    summary = cloud.run_schedule(EXPIRY)
    assert summary["queued"] == 1 and summary["candidates"] == 2, summary
    assert cloud.drain_queues() >= 1
    sent = expiry_reminders(msg)
    assert [m["touser"] for m in sent] == [openid_for("keen")]  # not "used": their coupon was redeemed
    assert sent[0]["data"]["thing1"]["value"] == "满50减5"
    assert sent[0]["data"]["time2"]["value"] == claims[keen["member_id"], soon]["valid_until"][:16].replace("T", " ")
    assert sent[0]["page"] == f"pages/coupons/detail?coupon_id={claims[keen['member_id'], soon]['coupon_id']}"

    assert cloud.run_schedule(EXPIRY)["queued"] == 1  # run again (on demand, or a retry): the same message id
    cloud.drain_queues()
    assert len(expiry_reminders(msg)) == 1


def test_visit_reminders_go_to_booked_visits_of_the_hour_after_next(cloud, client, actors, msg, monkeypatch):
    actors.store("s1", open_time="00:00", close_time="23:30")
    hour = datetime.now(CN_TZ).replace(minute=0, second=0, microsecond=0)
    slot = hour + timedelta(hours=2)  # always ahead, whatever the time now
    visitor = messaging_shopper(client, actors, "visitor", VISIT)
    others = [messaging_shopper(client, actors, code, VISIT) for code in ("changed-mind", "later-on")]
    booked = ok(client.post("/appointments", {"store_id": "s1", "slot_start": to_rfc3339(slot)},
                            token=visitor["token"]), 201)
    gone = ok(client.post("/appointments", {"store_id": "s1", "slot_start": to_rfc3339(slot)},
                          token=others[0]["token"]), 201)
    ok(client.delete(f"/appointments/{gone['appointment_id']}", token=others[0]["token"]))
    ok(client.post("/appointments", {"store_id": "s1", "slot_start": to_rfc3339(slot + timedelta(hours=1))},
                   token=others[1]["token"]), 201)
    cloud.drain_streams()  # the stream consumer indexes each booking by its slot hour

    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: slot - timedelta(minutes=55))  # the hourly run an hour before the slot
        summary = cloud.run_schedule(VISITS)
    assert summary == {"hour": slot.strftime("%Y-%m-%dT%H"), "candidates": 2, "queued": 1}
    cloud.drain_queues()
    sent = [m for m in msg.messages(template_id=VISIT) if (m["page"] or "").startswith("pages/visits/detail")]
    assert [m["touser"] for m in sent] == [openid_for("visitor")]
    assert sent[0]["data"]["thing1"]["value"] == "Store s1"
    assert sent[0]["data"]["time2"]["value"] == slot.strftime("%Y-%m-%d %H:%M")
    assert sent[0]["page"] == f"pages/visits/detail?appointment_id={booked['appointment_id']}"

    with monkeypatch.context() as m:  # the run an hour earlier reminds nobody: the slot is 2 h away then
        m.setattr(clock, "now", lambda: slot - timedelta(minutes=115))
        assert cloud.run_schedule(VISITS)["queued"] == 0


def test_the_nightly_rollup_closes_yesterday_reconciles_it_and_reports_drift(cloud, client, actors):
    admin = actors.admin["token"]
    actors.store("s1")
    secret = ok(client.post("/admin/stores/s1/pos-secret", token=admin), 201)["secret"]
    now = clock.now()
    tmpl = template(client, admin, "¥5", now + timedelta(days=3))
    campaign = ok(client.post("/admin/campaigns", {
        "name": "C", "starts_at": to_rfc3339(now - timedelta(minutes=5)),
        "ends_at": to_rfc3339(now + timedelta(days=1)), "template_ids": [tmpl]}, token=admin), 201)["campaign_id"]
    ok(client.post(f"/admin/campaigns/{campaign}/publish", token=admin))
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]
    for code in ("r1", "r2"):
        coupon = ok(client.post(f"/campaigns/{campaign}/claims", {"template_id": tmpl},
                                token=actors.member(code)["token"]), 201)["coupon"]
        ok(client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 5000}, token=clerk),
           201)
    raw = json.dumps({"sale_id": "S-9", "total_fen": 4200, "items": [], "coupon_codes": [],
                      "occurred_at": to_rfc3339(now)}).encode()
    ts = str(int(time.time()))
    ok(client.request("POST", "/webhooks/pos/s1", raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts,
        "X-StoreLoop-Signature": hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()}))
    cloud.drain_streams()
    today = now.astimezone(CN_TZ).date()
    day = today.isoformat()

    def run_tomorrow_night():
        with pytest.MonkeyPatch.context() as m:
            m.setattr(clock, "now", lambda: datetime(today.year, today.month, today.day, 2, 30, tzinfo=CN_TZ)
                      + timedelta(days=1))
            return cloud.run_schedule(ROLLUP)

    first = run_tomorrow_night()
    assert first["date"] == day and first["stores"] == 1 and first["campaigns"] == 1 and first["drift"] == []
    assert first["totals"] == {"visits": 0, "redemptions": 2, "orders": 1, "revenue_fen": 4200, "new_members": 2,
                               "refunds": 0,
                               # issue 10: the campaign kinds' counters
                               "groups_opened": 0, "groups_formed": 0, "groups_failed": 0, "flash_units": 0,
                               "flash_revenue_fen": 0, "rewards_redeemed": 0, "points_spent": 0}
    brand = analytics_data.get_record(*analytics_data.brand_day_key(day))
    assert brand["redemptions"] == 2 and brand["stores"] == 1 and brand["drift"] == 0
    snap = analytics_data.get_record(*analytics_data.snapshot_key(campaign, day))
    assert (snap["claimed"], snap["redeemed"], snap["redemption_rate"], snap["source_redeemed"]) == (2, 2, 1, 2)
    store_day = analytics_data.get_record(*analytics_data.store_day_key("s1", day))
    assert store_day["closed_at"] and store_day["source"] == {"redemptions": 2, "visits": 0} and not store_day["drift"]
    assert run_tomorrow_night() == first  # idempotent: the same day closed again, the same answer

    # A counter that disagrees with its source records (a lost or doubled batch) is reported, not "fixed".
    pk, sk = analytics_data.store_day_key("s1", day)
    dynamodb_client().update_item(TableName=get_settings().table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                                  UpdateExpression="ADD redemptions :one",
                                  ExpressionAttributeValues={":one": {"N": "1"}})
    again = run_tomorrow_night()
    assert again["drift"] == [{"store_id": "s1", "field": "redemptions", "counted": 3, "source": 2}]
    assert analytics_data.get_record(pk, sk)["redemptions"] == 3
    assert analytics_data.get_record(*analytics_data.brand_day_key(day))["drift"] == 1

    # The schedule's own day is yesterday: run now, it closes yesterday, where nothing happened.
    assert cloud.run_schedule(ROLLUP)["date"] == (today - timedelta(days=1)).isoformat()
