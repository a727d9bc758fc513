"""Campaigns through the routes: drafts, publish and cancel, what members see (live ones, remaining stock)."""

from __future__ import annotations

from datetime import timedelta

import boto3

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339


def error(resp):
    return resp.json()["error"]["code"]


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]


def new_template(client, token, **fields):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 100,
            "validity": {"type": "relative", "days": 7}, **fields}
    resp = client.post("/admin/coupon-templates", body, token=token)
    assert resp.status == 201, resp.body
    return resp.json()


def window(starts_in=timedelta(minutes=-1), lasts=timedelta(days=2)):
    starts = clock.now() + starts_in
    return {"starts_at": to_rfc3339(starts), "ends_at": to_rfc3339(starts + lasts)}


def draft(client, token, template_ids, name="Double 11", **when):
    resp = client.post("/admin/campaigns", {"name": name, **window(**when), "template_ids": template_ids}, token=token)
    assert resp.status == 201, resp.body
    return resp.json()


def publish(client, token, campaign_id):
    return client.post(f"/admin/campaigns/{campaign_id}/publish", token=token)


def cancel(client, token, campaign_id):
    return client.post(f"/admin/campaigns/{campaign_id}/cancel", token=token)


def test_create_a_draft_with_its_templates(client, admin):
    a, b = new_template(client, admin), new_template(client, admin, total_stock=30)
    body = {"name": "Double 11", **window(), "template_ids": [b["template_id"], a["template_id"]],
            "reminder_template_id": "tmpl-reminder-1"}
    resp = client.post("/admin/campaigns", body, token=admin)
    assert resp.status == 201, resp.body
    c = resp.json()
    assert c["campaign_id"].startswith("cp_") and c["status"] == "draft"
    assert (c["starts_at"], c["ends_at"]) == (body["starts_at"], body["ends_at"])
    assert c["reminder_template_id"] == "tmpl-reminder-1"
    assert [(t["template_id"], t["remaining"]) for t in c["templates"]] == [(b["template_id"], 30),
                                                                            (a["template_id"], 100)]


def test_publish_goes_live_or_scheduled_and_a_repeat_changes_nothing(client, admin, travel):
    t = new_template(client, admin)
    now_one = draft(client, admin, [t["template_id"]])
    later = draft(client, admin, [t["template_id"]], starts_in=timedelta(hours=3))
    resp = publish(client, admin, now_one["campaign_id"])
    assert resp.status == 200 and resp.json() == {"campaign_id": now_one["campaign_id"], "status": "live"}
    assert publish(client, admin, now_one["campaign_id"]).json()["status"] == "live"
    assert publish(client, admin, later["campaign_id"]).json()["status"] == "scheduled"
    assert client.get(f"/campaigns/{later['campaign_id']}", token=admin).json()["status"] == "scheduled"
    travel(timedelta(hours=4))
    assert client.get(f"/campaigns/{later['campaign_id']}", token=admin).json()["status"] == "live"
    travel(timedelta(days=3))
    assert client.get(f"/campaigns/{later['campaign_id']}", token=admin).json()["status"] == "ended"
    resp = publish(client, admin, later["campaign_id"])
    assert resp.status == 409 and error(resp) == "CAMPAIGN_ENDED"


def test_cancel_stops_a_campaign_once(client, admin, actors):
    t = new_template(client, admin)
    c = draft(client, admin, [t["template_id"]])
    assert publish(client, admin, c["campaign_id"]).status == 200
    resp = cancel(client, admin, c["campaign_id"])
    assert resp.status == 200 and resp.json() == {"campaign_id": c["campaign_id"], "status": "cancelled"}
    assert cancel(client, admin, c["campaign_id"]).json()["status"] == "cancelled"
    again = publish(client, admin, c["campaign_id"])
    assert again.status == 409 and error(again) == "CAMPAIGN_CANCELLED"
    member = actors.member()["token"]
    shown = client.get(f"/campaigns/{c['campaign_id']}", token=member).json()
    assert shown["status"] == "cancelled" and shown["cancelled_at"]
    assert client.get("/campaigns", token=member).json()["items"] == []
    # A draft can be cancelled too; an ended campaign cannot.
    d = draft(client, admin, [t["template_id"]])
    assert cancel(client, admin, d["campaign_id"]).json()["status"] == "cancelled"


def test_an_ended_campaign_cannot_be_cancelled(client, admin, travel):
    t = new_template(client, admin)
    c = draft(client, admin, [t["template_id"]], lasts=timedelta(hours=1))
    assert publish(client, admin, c["campaign_id"]).status == 200
    travel(timedelta(hours=2))
    resp = cancel(client, admin, c["campaign_id"])
    assert resp.status == 409 and error(resp) == "CAMPAIGN_ENDED"


def test_publish_and_cancel_unknown_or_not_admin(client, admin, actors):
    t = new_template(client, admin)
    c = draft(client, admin, [t["template_id"]])
    for action in (publish, cancel):
        resp = action(client, admin, "cp_nope")
        assert resp.status == 404 and error(resp) == "NOT_FOUND"
        resp = action(client, actors.member()["token"], c["campaign_id"])
        assert resp.status == 403 and error(resp) == "FORBIDDEN"
    assert client.get(f"/campaigns/{c['campaign_id']}", token=admin).json()["status"] == "draft"


def test_members_see_live_campaigns_only_with_remaining_stock(client, admin, actors, travel):
    t = new_template(client, admin, total_stock=5)
    live = draft(client, admin, [t["template_id"]], name="live")
    publish(client, admin, live["campaign_id"])
    draft(client, admin, [t["template_id"]], name="draft")
    scheduled = draft(client, admin, [t["template_id"]], name="scheduled", starts_in=timedelta(hours=1))
    publish(client, admin, scheduled["campaign_id"])
    short = draft(client, admin, [t["template_id"]], name="short", lasts=timedelta(minutes=30))
    publish(client, admin, short["campaign_id"])
    member = actors.member()["token"]
    assert client.post(f"/campaigns/{live['campaign_id']}/claims", {"template_id": t["template_id"]},
                       token=member).status == 201
    resp = client.get("/campaigns", token=member)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert [c["name"] for c in body["items"]] == ["short", "live"] and body["next"] is None  # soonest end first
    assert body["items"][1]["templates"][0]["remaining"] == 4 and body["items"][1]["status"] == "live"
    travel(timedelta(hours=2))  # short has ended, scheduled has started
    assert [c["name"] for c in client.get("/campaigns", token=member).json()["items"]] == ["live", "scheduled"]


def test_campaign_list_pages_with_a_cursor_that_cannot_be_bent(client, admin, actors):
    t = new_template(client, admin)
    for i in range(5):
        c = draft(client, admin, [t["template_id"]], name=f"c{i}", lasts=timedelta(days=1, hours=i))
        publish(client, admin, c["campaign_id"])
    member = actors.member()["token"]
    names, cursor = [], None
    while True:
        page = client.get("/campaigns", token=member, query={"limit": 2, "cursor": cursor}).json()
        names += [c["name"] for c in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert names == [f"c{i}" for i in range(5)]
    from storeloop.api.pagination import encode_cursor
    bent = encode_cursor({"PK": "MEMBER#m_1", "SK": "PROFILE", "GSI1PK": "CAMPAIGNS#PUBLISHED", "GSI1SK": "x"})
    for bad in (bent, "!!", "e30", {"limit": 0}, {"limit": 500}):
        query = bad if isinstance(bad, dict) else {"cursor": bad}
        resp = client.get("/campaigns", token=member, query=query)
        assert resp.status == 400 and error(resp) == "VALIDATION_FAILED", bad


def test_one_campaign_drafts_are_for_admins_only(client, admin, actors):
    t = new_template(client, admin)
    c = draft(client, admin, [t["template_id"]])
    member = actors.member()["token"]
    assert client.get(f"/campaigns/{c['campaign_id']}", token=member).status == 404
    assert client.get(f"/campaigns/{c['campaign_id']}", token=admin).json()["status"] == "draft"
    publish(client, admin, c["campaign_id"])
    shown = client.get(f"/campaigns/{c['campaign_id']}", token=member).json()
    assert shown["status"] == "live" and shown["templates"][0]["template_id"] == t["template_id"]
    resp = client.get("/campaigns/cp_nope", token=member)
    assert resp.status == 404 and error(resp) == "NOT_FOUND"
    assert client.get("/campaigns").status == 401


def test_invalid_campaigns_are_400_naming_the_field(client, admin, actors, cloud):
    t = new_template(client, admin)
    short = new_template(client, admin, validity={"type": "fixed", "starts_at": to_rfc3339(clock.now()),
                                                  "ends_at": to_rfc3339(clock.now() + timedelta(hours=5))})
    ok = {"name": "x", **window(), "template_ids": [t["template_id"]]}
    cases = [
        ({**ok, "name": ""}, "name"),
        ({k: v for k, v in ok.items() if k != "starts_at"}, "starts_at"),
        ({**ok, "starts_at": "tomorrow"}, "starts_at"),
        ({**ok, "ends_at": ok["starts_at"]}, "ends_at"),
        ({**ok, **window(starts_in=timedelta(days=-3))}, "ends_at"),  # already over
        ({**ok, "template_ids": []}, "template_ids"),
        ({**ok, "template_ids": "t_1"}, "template_ids"),
        ({**ok, "template_ids": [t["template_id"], t["template_id"]]}, "template_ids"),
        ({**ok, "template_ids": [t["template_id"], "t_nope"]}, "template_ids"),
        ({**ok, "template_ids": [short["template_id"]]}, "template_ids"),  # coupons would end before the campaign
        ({**ok, "reminder_template_id": ""}, "reminder_template_id"),
        ({**ok, "status": "live"}, "status"),
    ]
    before = len(table_items(cloud))
    for body, field in cases:
        resp = client.post("/admin/campaigns", body, token=admin)
        assert resp.status == 400 and error(resp) == "VALIDATION_FAILED", (body, resp.body)
        assert field in {d["field"] for d in resp.json()["error"]["details"]}, (field, resp.body)
    assert client.post("/admin/campaigns", ok, token=actors.member()["token"]).status == 403
    assert len([i for i in table_items(cloud) if i["PK"]["S"].startswith("CAMPAIGN#")]) == 0
    assert len(table_items(cloud)) > before  # only the member's login wrote


def test_create_campaign_idempotency_key(client, admin):
    t = new_template(client, admin)
    body = {"name": "x", **window(), "template_ids": [t["template_id"]]}
    first = client.post("/admin/campaigns", body, token=admin, headers={"Idempotency-Key": "c-1"})
    again = client.post("/admin/campaigns", body, token=admin, headers={"Idempotency-Key": "c-1"})
    assert first.status == again.status == 201 and first.json()["campaign_id"] == again.json()["campaign_id"]
    other = client.post("/admin/campaigns", {**body, "name": "y"}, token=admin, headers={"Idempotency-Key": "c-1"})
    assert other.status == 409 and error(other) == "IDEMPOTENCY_KEY_REUSED"
