"""The campaign lifecycle in Step Functions (moto runs statemachines/campaign.asl.json in real time; its Lambda tasks
come back to the in-process handlers): a campaign seconds long goes scheduled → live → ended with its report, the
audience is notified, holders of unredeemed coupons are reminded, the unclaimed stock is released, and a cancel
stops the execution."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest

from local.cloud import REGION
from local.wechat_fake import openid_for
from storeloop.data import campaign_flow as flow_data
from storeloop.domain import clock
from storeloop.domain.clock import parse_rfc3339, to_rfc3339
from storeloop.services import campaign_flow

MESSAGE_TEMPLATE = "Cmp7Rm1ndQk0ZbC7s5d1XyTqLm3nOpW8vYu4aHgJe6i"


def sfn():
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def cloud(cloud, wechat):
    wechat.msg.reset()
    yield cloud
    # No execution of this stack may run on into the next test's stack.
    for e in sfn().list_executions(stateMachineArn=cloud.ref("CampaignStateMachine"),
                                   statusFilter="RUNNING")["executions"]:
        sfn().stop_execution(executionArn=e["executionArn"])
    wechat.msg.reset()


def execution_arn(cloud, campaign_id):
    return cloud.ref("CampaignStateMachine").replace(":stateMachine:", ":execution:") + f":{campaign_id}"


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not met within {timeout} s")


def template(client, admin, stock):
    body = {"name": f"¥{stock} off", "kind": "cash_off", "amount_off_fen": 500, "total_stock": stock,
            "validity": {"type": "relative", "days": 7}}
    resp = client.post("/admin/coupon-templates", body, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()["template_id"]


def campaign(client, admin, template_ids, starts_in, lasts, **extra):
    starts = clock.now() + timedelta(seconds=starts_in)
    body = {"name": "Flash weekend", "starts_at": to_rfc3339(starts),
            "ends_at": to_rfc3339(starts + timedelta(seconds=lasts)), "template_ids": template_ids, **extra}
    resp = client.post("/admin/campaigns", body, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()


def shopper(client, actors, code, *, consent=True, grants=0):
    who = actors.member(code)
    if consent:
        resp = client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                           token=who["token"])
        assert resp.status == 201, resp.body
    for _ in range(grants):
        resp = client.post("/me/message-subscriptions", {"results": {MESSAGE_TEMPLATE: "accept"}},
                           token=who["token"])
        assert resp.status == 200, resp.body
    return who


def claim(client, token, campaign_id, template_id):
    return client.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id}, token=token)


def status_of(client, token, campaign_id):
    return client.get(f"/campaigns/{campaign_id}", token=token).json()["status"]


def sent_to(cloud, wechat, code):
    cloud.drain_queues()
    return [m for m in wechat.msg.messages(touser=openid_for(code)) if m["template_id"] == MESSAGE_TEMPLATE]


def test_the_flow_is_the_template_asl_waiting_on_the_campaign_times(cloud):
    definition = json.loads(sfn().describe_state_machine(
        stateMachineArn=cloud.ref("CampaignStateMachine"))["definition"])
    states = definition["States"]
    waits = {name: s["TimestampPath"] for name, s in states.items() if s["Type"] == "Wait"}
    assert waits == {"WaitUntilStart": "$.starts_at", "WaitUntilReminder": "$.live.reminder_at",
                     "WaitUntilEnd": "$.ends_at"}
    tasks = {s["Parameters"]["FunctionName"].rsplit(":", 1)[-1] for s in states.values() if s["Type"] == "Task"}
    assert tasks == {"CampaignGoLiveFunction", "CampaignNotifyFunction", "CampaignRemindFunction",
                     "CampaignEndFunction", "CampaignReleaseFunction", "CampaignReportFunction"}
    assert all(s.get("Retry") and s.get("Catch") for s in states.values() if s["Type"] == "Task")


def test_a_campaign_runs_from_scheduled_to_ended_with_its_report(client, actors, cloud, wechat):
    admin = actors.admin["token"]
    actors.store("s1")
    clerk = actors.staff("flow-clerk", "clerk", ["s1"])
    big, small = template(client, admin, 10), template(client, admin, 5)
    fan = shopper(client, actors, "flow-fan", grants=2)  # claims and keeps a coupon: launch + reminder
    user = shopper(client, actors, "flow-user", grants=2)  # claims and redeems: launch only
    shopper(client, actors, "flow-no-consent", consent=False, grants=2)
    shopper(client, actors, "flow-no-grant")
    # Starts 3 s out: the early claim below must land before the start even on a loaded machine.
    c = campaign(client, admin, [big, small], starts_in=3, lasts=6, reminder_template_id=MESSAGE_TEMPLATE)
    cid = c["campaign_id"]

    assert client.post(f"/admin/campaigns/{cid}/publish", token=admin).json()["status"] == "scheduled"
    assert flow_data.get_state(cid).execution_arn == execution_arn(cloud, cid)
    early = claim(client, fan["token"], cid, big)
    assert early.status == 409 and early.json()["error"]["code"] == "CAMPAIGN_NOT_LIVE"

    # Live at starts_at: the audience that subscribed and consented gets the launch message.
    wait_until(lambda: status_of(client, admin, cid) == "live", 10, "live")
    kept = claim(client, fan["token"], cid, big)
    used = claim(client, user["token"], cid, small)
    assert kept.status == 201 and used.status == 201, (kept.body, used.body)
    resp = client.post("/verifications", {"code": used.json()["coupon"]["code"], "store_id": "s1",
                                          "spend_fen": 5000},
                       token=clerk["token"])
    assert resp.status == 201, resp.body
    assert wait_until(lambda: sent_to(cloud, wechat, "flow-user"), 15, "launch message")[0]["data"]["thing1"] == {
        "value": "Flash weekend"}

    # Halfway (the reminder time of a campaign this short): only the holder of an unredeemed coupon is reminded.
    wait_until(lambda: len(sent_to(cloud, wechat, "flow-fan")) == 2, 15, "reminder")
    done = wait_until(lambda: (e := sfn().describe_execution(executionArn=execution_arn(cloud, cid)))["status"]
                      != "RUNNING" and e, 20, "execution finished")
    assert done["status"] == "SUCCEEDED", done
    cloud.drain_queues()
    assert [m["page"] for m in sent_to(cloud, wechat, "flow-fan")] == [f"pages/campaign/index?id={cid}"] * 2
    assert len(sent_to(cloud, wechat, "flow-user")) == 1
    assert sent_to(cloud, wechat, "flow-no-consent") == [] and sent_to(cloud, wechat, "flow-no-grant") == []

    # Ended, the unclaimed released, the report written on the campaign.
    report = json.loads(done["output"])["report"]
    rows = {r["template_id"]: r for r in report["templates"]}
    assert {t: (r["claimed"], r["redeemed"], r["released"], r["remaining"]) for t, r in rows.items()} == {
        big: (1, 0, 9, 0), small: (1, 1, 4, 0)}
    assert (report["claimed"], report["redeemed"], report["released"]) == (2, 1, 13)
    assert (report["notified"], report["reminded"]) == (2, 1)
    assert campaign_flow.report_of(cid).model_dump() == report
    state = flow_data.get_state(cid)
    assert state.status == "ended" and state.live_at and state.ended_at
    assert parse_rfc3339(state.ended_at) >= parse_rfc3339(c["ends_at"])
    as_admin = client.get(f"/campaigns/{cid}", token=admin).json()
    assert [t["remaining"] for t in as_admin["templates"]] == [0, 0]
    assert as_admin["report"] == report  # HQ reads the final report on the campaign
    assert client.get(f"/campaigns/{cid}", token=fan["token"]).json()["report"] is None
    late = claim(client, user["token"], cid, big)
    assert late.status == 409 and late.json()["error"]["code"] == "CAMPAIGN_NOT_LIVE"

    # Each task again (a Step Functions retry) changes nothing twice.
    assert cloud.invoke("CampaignEndFunction", {"campaign_id": cid})["status"] == "ended"
    again = cloud.invoke("CampaignReleaseFunction", {"campaign_id": cid})
    assert again["released"] == {big: 9, small: 4} and again["kept"] == []
    rerun = cloud.invoke("CampaignReportFunction", {"campaign_id": cid, "notified": 2, "reminded": 1})["report"]
    assert {k: v for k, v in rerun.items() if k != "generated_at"} == {
        k: v for k, v in report.items() if k != "generated_at"}


def test_cancel_mid_way_stops_the_execution_and_claims(client, actors, cloud):
    admin = actors.admin["token"]
    t = template(client, admin, 10)
    shopper_token = actors.member("flow-cancel")["token"]
    c = campaign(client, admin, [t], starts_in=1, lasts=60)
    cid = c["campaign_id"]
    for _ in range(2):  # a repeated publish starts no second execution
        assert client.post(f"/admin/campaigns/{cid}/publish", token=admin).status == 200
    arn = cloud.ref("CampaignStateMachine")
    assert [e["name"] for e in sfn().list_executions(stateMachineArn=arn)["executions"]] == [cid]
    wait_until(lambda: status_of(client, admin, cid) == "live", 5, "live")
    assert claim(client, shopper_token, cid, t).status == 201
    wait_until(lambda: flow_data.get_state(cid).status == "live", 5, "marked live by the flow")

    resp = client.post(f"/admin/campaigns/{cid}/cancel", token=admin)
    assert resp.status == 200 and resp.json()["status"] == "cancelled"
    stopped = wait_until(lambda: (e := sfn().describe_execution(executionArn=execution_arn(cloud, cid)))["status"]
                         != "RUNNING" and e, 5, "execution stopped")
    assert stopped["status"] == "ABORTED"
    refused = claim(client, shopper_token, cid, t)
    assert refused.status == 409 and refused.json()["error"]["code"] == "CAMPAIGN_NOT_LIVE"
    # A task still in flight when the cancel landed finds the campaign cancelled and ends the flow quietly.
    assert cloud.invoke("CampaignEndFunction", {"campaign_id": cid})["status"] == "cancelled"
    assert cloud.invoke("CampaignNotifyFunction", {"campaign_id": cid, "cursor": None, "queued": 0})["cursor"] is None
    assert client.post(f"/admin/campaigns/{cid}/cancel", token=admin).status == 200  # stopping twice is fine


def test_the_reminder_goes_a_day_before_the_end_or_halfway_through_a_short_campaign():
    start = parse_rfc3339("2026-12-01T10:00:00+08:00")
    assert campaign_flow.reminder_time(start, start + timedelta(days=7)) == start + timedelta(days=6)
    assert campaign_flow.reminder_time(start, start + timedelta(hours=10)) == start + timedelta(hours=5)
    assert campaign_flow.utc_z(start) == "2026-12-01T02:00:00Z"
