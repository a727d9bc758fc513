"""Issue 9, segments and audiences through the routes: rules checked at creation, sizes counted by the scheduled job,
a campaign with an audience seen and claimed by its segment only, its launch message sent to the segment only."""

from __future__ import annotations

import time
from datetime import timedelta

from local.testing import ok
from local.wechat_fake import openid_for
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

MESSAGE_TEMPLATE = "Seg7Rm1ndQk0ZbC7s5d1XyTqLm3nOpW8vYu4aHgJe6i"


def error(resp):
    return resp.json()["error"]["code"]


def segment(client, admin, **rules):
    return client.post("/admin/segments", {"name": "seg", "rules": rules}, token=admin)


def test_rules_are_checked_at_creation(client, admin):
    for bad in ({"tiers": ["diamond"]}, {"tiers": []}, {"channels": ["billboard"]}, {"purchased_within_days": 0},
                {"members_only": "yes"}, {"min_lifetime_spend_fen": -1}, {"favourite_colour": "red"}):
        assert error(segment(client, admin, **bad)) == "VALIDATION_FAILED", bad
    # rules that can never match anyone are refused with the reason
    resp = segment(client, admin, members_only=True, new_shoppers_only=True)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["issue"] == "contradiction"
    assert segment(client, admin, purchased_within_days=30, not_purchased_for_days=60).status == 400
    unknown = segment(client, admin, store_ids=["nowhere"])
    assert unknown.status == 400 and unknown.json()["error"]["details"][0]["issue"] == "unknown"
    made = ok(segment(client, admin, tiers=["bronze"], purchased_within_days=30), 201)
    got = ok(client.get(f"/admin/segments/{made['segment_id']}", token=admin))
    assert got["rules"] == {"tiers": ["bronze"], "purchased_within_days": 30} and got["size"] is None
    assert client.get("/admin/segments/sg_nope", token=admin).status == 404


def test_an_audience_campaign_is_seen_claimed_and_announced_to_its_segment_only(client, actors, admin, cloud, wechat):
    actors.store("s1")
    clerk = actors.staff("seg-clerk", "clerk", ["s1"])["token"]
    members_only = ok(segment(client, admin, members_only=True), 201)["segment_id"]
    from_articles = ok(segment(client, admin, channels=["article"]), 201)["segment_id"]

    t = ok(client.post("/admin/coupon-templates", {"name": "会员券", "kind": "cash_off", "amount_off_fen": 500,
                                                   "total_stock": 20, "per_member_limit": 3,
                                                   "validity": {"type": "relative", "days": 7}}, token=admin), 201)
    tid = t["template_id"]
    unknown = client.post("/admin/campaigns", {"name": "x", "starts_at": to_rfc3339(clock.now()),
                                               "ends_at": to_rfc3339(clock.now() + timedelta(days=1)),
                                               "template_ids": [tid], "audience": {"segment_id": "sg_nope"}},
                          token=admin)
    assert unknown.status == 400 and unknown.json()["error"]["details"][0]["field"] == "audience.segment_id"
    open_c = ok(client.post("/admin/campaigns", {"name": "open", "starts_at": to_rfc3339(clock.now()),
                                                 "ends_at": to_rfc3339(clock.now() + timedelta(days=1)),
                                                 "template_ids": [tid]}, token=admin), 201)["campaign_id"]
    ok(client.post(f"/admin/campaigns/{open_c}/publish", token=admin))

    # Amy becomes a member (a verification); Ben does not; both subscribe to the campaign's messages.
    people = {}
    for code in ("seg-amy", "seg-ben"):
        who = actors.member(code)
        ok(client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                       token=who["token"]), 201)
        ok(client.post("/me/message-subscriptions", {"results": {MESSAGE_TEMPLATE: "accept"}}, token=who["token"]))
        people[code] = who
    amy, ben = people["seg-amy"]["token"], people["seg-ben"]["token"]
    coupon = ok(client.post(f"/campaigns/{open_c}/claims", {"template_id": tid}, token=amy), 201)["coupon"]
    ok(client.post("/verifications", {"code": coupon["code"], "store_id": "s1", "spend_fen": 5000}, token=clerk), 201)
    ok(client.post(f"/campaigns/{open_c}/claims",
                   {"template_id": tid, "source": {"channel": "article", "ref": "a1"}}, token=ben), 201)
    cloud.drain_streams()  # Ben's first touch is the article

    starts = clock.now() - timedelta(minutes=1)
    vip = ok(client.post("/admin/campaigns", {"name": "members", "starts_at": to_rfc3339(starts),
                                              "ends_at": to_rfc3339(starts + timedelta(days=1)),
                                              "template_ids": [tid], "reminder_template_id": MESSAGE_TEMPLATE,
                                              "audience": {"segment_id": members_only}}, token=admin), 201)
    assert vip["audience"] == {"segment_id": members_only}
    ok(client.post(f"/admin/campaigns/{vip['campaign_id']}/publish", token=admin))
    vip_id = vip["campaign_id"]

    def visible(token):
        return {c["campaign_id"] for c in ok(client.get("/campaigns", token=token))["items"]}

    assert vip_id in visible(amy) and vip_id not in visible(ben)
    assert client.get(f"/campaigns/{vip_id}", token=ben).status == 404
    assert ok(client.get(f"/campaigns/{vip_id}", token=amy))["campaign_id"] == vip_id
    assert error(client.post(f"/campaigns/{vip_id}/claims", {"template_id": tid}, token=ben)) == "NOT_IN_AUDIENCE"
    assert client.post(f"/campaigns/{vip_id}/claims", {"template_id": tid}, token=amy).status == 201

    # The launch message goes to the segment only (the flow's notify step runs in Step Functions).
    def launch_to(code):
        cloud.drain_queues()
        return [m for m in wechat.msg.messages(touser=openid_for(code)) if m["template_id"] == MESSAGE_TEMPLATE]

    deadline = time.monotonic() + 15
    while not launch_to("seg-amy") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(launch_to("seg-amy")) == 1 and launch_to("seg-ben") == []

    # Sizes: counted by the scheduled job, not on the request.
    cloud.run_schedule("storeloop-local-segment-sizes")
    assert ok(client.get(f"/admin/segments/{members_only}", token=admin))["size"] == 1
    assert ok(client.get(f"/admin/segments/{from_articles}", token=admin))["size"] == 1
