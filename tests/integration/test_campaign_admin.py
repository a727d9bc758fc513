"""HQ manages campaigns through the routes: the list by status, draft edits, pause and resume with claims."""

from __future__ import annotations

from datetime import timedelta

import pytest

from local.testing import ok
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.integration.test_claims import claim, new_campaign, new_template


def patch(client, path, body, token):
    return client.request("PATCH", path, json_body=body, token=token)


def ids(resp):
    return [c["campaign_id"] for c in ok(resp)["items"]]


def test_list_by_status_newest_first(client, actors, admin) -> None:
    t = new_template(client, admin)["template_id"]
    draft = new_campaign(client, admin, [t], publish=False)["campaign_id"]
    live = new_campaign(client, admin, [t])["campaign_id"]
    later = new_campaign(client, admin, [t], starts_in=timedelta(days=1))["campaign_id"]
    cancelled = new_campaign(client, admin, [t])["campaign_id"]
    ok(client.post(f"/admin/campaigns/{cancelled}/cancel", token=admin))
    paused = new_campaign(client, admin, [t])["campaign_id"]
    ok(client.post(f"/admin/campaigns/{paused}/pause", token=admin))
    assert ids(client.get("/admin/campaigns", token=admin)) == [paused, cancelled, later, live, draft]
    for status, expected in (("draft", [draft]), ("live", [live]), ("scheduled", [later]),
                             ("cancelled", [cancelled]), ("paused", [paused]), ("ended", [])):
        assert ids(client.get("/admin/campaigns", query={"status": status}, token=admin)) == expected, status
    listed = ok(client.get("/admin/campaigns", query={"status": "live"}, token=admin))["items"][0]
    assert listed["templates"][0]["remaining"] == 100 and listed["status"] == "live"
    page = ok(client.get("/admin/campaigns", query={"limit": 2}, token=admin))
    assert len(page["items"]) == 2 and page["next"]
    rest = ok(client.get("/admin/campaigns", query={"limit": 10, "cursor": page["next"]}, token=admin))
    assert [c["campaign_id"] for c in rest["items"]] == [later, live, draft] and rest["next"] is None
    assert client.get("/admin/campaigns", query={"status": "nope"}, token=admin).status == 400
    assert client.get("/admin/campaigns", query={"cursor": "e30"}, token=admin).status == 400
    assert client.get("/admin/campaigns", token=actors.member("peek")["token"]).status == 403


def test_ended_campaigns_are_listed_as_ended(client, admin, travel) -> None:
    t = new_template(client, admin)["template_id"]
    c = new_campaign(client, admin, [t], lasts=timedelta(hours=1))["campaign_id"]
    travel(timedelta(hours=2))
    assert ids(client.get("/admin/campaigns", query={"status": "ended"}, token=admin)) == [c]
    assert ids(client.get("/admin/campaigns", query={"status": "live"}, token=admin)) == []


def test_edit_a_draft(client, admin) -> None:
    t1 = new_template(client, admin)["template_id"]
    t2 = new_template(client, admin, name="second")["template_id"]
    c = new_campaign(client, admin, [t1], publish=False)["campaign_id"]
    starts = clock.now() + timedelta(hours=1)
    body = {"name": "双十二", "starts_at": to_rfc3339(starts), "ends_at": to_rfc3339(starts + timedelta(days=3)),
            "template_ids": [t1, t2], "reminder_template_id": "tmpl_reminder_1"}
    edited = ok(patch(client, f"/admin/campaigns/{c}", body, admin))
    assert {k: edited[k] for k in body} == body and edited["status"] == "draft"
    assert [x["template_id"] for x in edited["templates"]] == [t1, t2]
    assert ok(patch(client, f"/admin/campaigns/{c}", {"reminder_template_id": None}, admin))[
        "reminder_template_id"] is None
    # the edited window is what publishing uses
    assert ok(client.post(f"/admin/campaigns/{c}/publish", token=admin))["status"] == "scheduled"


@pytest.mark.parametrize("body, field", [
    ({"status": "live"}, "status"), ({"created_at": "2026-01-01T00:00:00+08:00"}, "created_at"),
    ({"name": ""}, "name"), ({"starts_at": "tomorrow"}, "starts_at"), ({"template_ids": []}, "template_ids"),
    ({"template_ids": ["t_nope"]}, "template_ids"), ({"name": None}, "name"),
    ({"ends_at": "2020-01-01T00:00:00+08:00"}, "ends_at"),
])
def test_edit_refuses_bad_fields(client, admin, body, field) -> None:
    t = new_template(client, admin)["template_id"]
    c = new_campaign(client, admin, [t], publish=False)["campaign_id"]
    resp = patch(client, f"/admin/campaigns/{c}", body, admin)
    assert resp.status == 400, resp.body
    assert field in {d["field"] for d in resp.json()["error"]["details"]}


def test_only_drafts_can_be_edited(client, admin) -> None:
    t = new_template(client, admin)["template_id"]
    c = new_campaign(client, admin, [t])["campaign_id"]
    resp = patch(client, f"/admin/campaigns/{c}", {"name": "late"}, admin)
    assert resp.status == 409 and resp.json()["error"]["code"] == "CAMPAIGN_NOT_DRAFT"
    assert patch(client, "/admin/campaigns/cp_missing", {"name": "x"}, admin).status == 404


def test_pause_refuses_claims_at_once_and_resume_allows_them(client, actors, admin) -> None:
    t = new_template(client, admin)["template_id"]
    c = new_campaign(client, admin, [t])["campaign_id"]
    shopper = actors.member("pause-shopper")["token"]
    assert ok(client.get("/campaigns", token=shopper))["items"]  # warm the claim path's campaign cache
    assert ok(client.post(f"/admin/campaigns/{c}/pause", token=admin)) == {"campaign_id": c, "status": "paused"}
    resp = claim(client, shopper, c, t)
    assert resp.status == 409 and resp.json()["error"]["code"] == "CAMPAIGN_NOT_LIVE"
    assert ok(client.get("/campaigns", token=shopper))["items"] == []  # hidden from shoppers
    assert ok(client.get(f"/campaigns/{c}", token=shopper))["status"] == "paused"
    assert ok(client.post(f"/admin/campaigns/{c}/pause", token=admin))["status"] == "paused"  # again: the same
    assert ok(client.post(f"/admin/campaigns/{c}/resume", token=admin)) == {"campaign_id": c, "status": "live"}
    ok(claim(client, shopper, c, t), 201)
    assert ok(client.post(f"/admin/campaigns/{c}/resume", token=admin))["status"] == "live"


def test_pause_and_resume_refusals(client, admin, travel) -> None:
    t = new_template(client, admin)["template_id"]
    draft = new_campaign(client, admin, [t], publish=False)["campaign_id"]
    later = new_campaign(client, admin, [t], starts_in=timedelta(days=1))["campaign_id"]
    for c in (draft, later):
        resp = client.post(f"/admin/campaigns/{c}/pause", token=admin)
        assert resp.status == 409 and resp.json()["error"]["code"] == "CAMPAIGN_NOT_LIVE"
        resp = client.post(f"/admin/campaigns/{c}/resume", token=admin)
        assert resp.status == 409 and resp.json()["error"]["code"] == "CAMPAIGN_NOT_PAUSED"
    assert client.post("/admin/campaigns/cp_missing/pause", token=admin).status == 404
    paused = new_campaign(client, admin, [t], lasts=timedelta(hours=1))["campaign_id"]
    ok(client.post(f"/admin/campaigns/{paused}/pause", token=admin))
    # a paused campaign can still be cancelled; one paused past its end has ended
    cancel_me = new_campaign(client, admin, [t])["campaign_id"]
    ok(client.post(f"/admin/campaigns/{cancel_me}/pause", token=admin))
    assert ok(client.post(f"/admin/campaigns/{cancel_me}/cancel", token=admin))["status"] == "cancelled"
    travel(timedelta(hours=2))
    resp = client.post(f"/admin/campaigns/{paused}/resume", token=admin)
    assert resp.status == 409 and resp.json()["error"]["code"] == "CAMPAIGN_ENDED"
    assert ids(client.get("/admin/campaigns", query={"status": "ended"}, token=admin)) == [paused]


def test_a_campaign_paused_at_its_end_is_ended_by_its_flow_and_the_issued_count_holds(client, actors, admin, cloud):
    from tests.integration.test_campaign_flow import campaign, execution_arn, sfn, wait_until

    t = new_template(client, admin, total_stock=10)["template_id"]
    shopper = actors.member("flow-pause")["token"]
    # 6 s: time enough to claim and pause on a loaded machine; the flow then waits for the end in real time
    c = campaign(client, admin, [t], starts_in=0, lasts=6)["campaign_id"]
    ok(client.post(f"/admin/campaigns/{c}/publish", token=admin))
    ok(claim(client, shopper, c, t), 201)
    ok(client.post(f"/admin/campaigns/{c}/pause", token=admin))
    done = wait_until(lambda: (e := sfn().describe_execution(executionArn=execution_arn(cloud, c)))["status"]
                      != "RUNNING" and e, 30, "execution finished")
    assert done["status"] == "SUCCEEDED", done
    assert ok(client.get(f"/campaigns/{c}", token=admin))["report"]["released"] == 9
    # the released units are no longer "issued": 1 claimed, 0 left, total 10
    one = ok(client.get(f"/admin/coupon-templates/{t}", token=admin))
    assert (one["issued"], one["remaining"], one["total_stock"]) == (1, 0, 10)


def test_campaign_admin_routes_are_for_admins(client, actors, admin) -> None:
    actors.store("s1")
    t = new_template(client, admin)["template_id"]
    live = new_campaign(client, admin, [t])["campaign_id"]
    draft = new_campaign(client, admin, [t], publish=False)["campaign_id"]
    for who in (actors.member("not-admin")["token"], actors.staff("mgr-not-admin", "manager", ["s1"])["token"]):
        assert patch(client, f"/admin/campaigns/{draft}", {"name": "x"}, who).status == 403
        assert client.post(f"/admin/campaigns/{live}/pause", token=who).status == 403
        assert client.post(f"/admin/campaigns/{live}/resume", token=who).status == 403
    assert client.post(f"/admin/campaigns/{live}/pause").status == 401
    assert ok(client.get(f"/campaigns/{live}", token=admin))["status"] == "live"  # nothing changed


def test_edit_a_drafts_audience(client, admin) -> None:
    t = new_template(client, admin)["template_id"]
    c = new_campaign(client, admin, [t], publish=False)["campaign_id"]
    segment = ok(client.post("/admin/segments", {"name": "members", "rules": {"members_only": True}}, token=admin),
                 201)["segment_id"]
    edited = ok(patch(client, f"/admin/campaigns/{c}", {"audience": {"segment_id": segment}}, admin))
    assert edited["audience"] == {"segment_id": segment}
    assert ok(patch(client, f"/admin/campaigns/{c}", {"audience": None}, admin))["audience"] is None
    resp = patch(client, f"/admin/campaigns/{c}", {"audience": {"segment_id": "sg_nope"}}, admin)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "audience.segment_id"
