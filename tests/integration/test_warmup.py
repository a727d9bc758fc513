"""Pre-warming the claim path before a campaign's peak, and the order path before a flash sale's (services/warmup.py,
statemachines/campaign_warm.asl.json).

Publishing a campaign (creating a flash sale) with `expected_peak_rps` starts the warm flow in moto's Step Functions
(real ASL, Lambda tasks back in-process); its calls to Lambda's provisioned-concurrency API reach the local fake
(`cloud.provisioned`), which records them. Sizes are checked against `domain.capacity` with the warm times the
template gives the warm task.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.capacity import provisioned_concurrency
from storeloop.domain.clock import to_rfc3339

WARM_FN = "CampaignWarmFunction"


def sfn():
    return boto3.client("stepfunctions", region_name=REGION)


@pytest.fixture
def cloud(cloud):
    yield cloud
    for machine in ("CampaignStateMachine", "CampaignWarmStateMachine"):
        for e in sfn().list_executions(stateMachineArn=cloud.ref(machine), statusFilter="RUNNING")["executions"]:
            sfn().stop_execution(executionArn=e["executionArn"])


def targets(cloud) -> dict:
    return json.loads(cloud.environment["WARM_TARGETS"])


def expected(cloud, peak: int, kind: str = "campaign") -> dict[tuple[str, str], int]:
    out = {}
    for t in targets(cloud).values():
        if kind not in t["kinds"]:
            continue
        out[(t["function"], t["alias"])] = max(1, provisioned_concurrency(peak * float(t["share"]),
                                                                          float(t["warm_ms"])))
    return out


def campaign(client, admin, *, starts_in: float, lasts: float, peak: int | None) -> str:
    tpl = client.post("/admin/coupon-templates", {
        "name": "flash", "kind": "cash_off", "amount_off_fen": 500, "total_stock": 1000,
        "validity": {"type": "relative", "days": 7}}, token=admin).json()["template_id"]
    starts = clock.now() + timedelta(seconds=starts_in)
    body = {"name": "flash", "starts_at": to_rfc3339(starts), "ends_at": to_rfc3339(starts + timedelta(seconds=lasts)),
            "template_ids": [tpl]}
    if peak is not None:
        body["expected_peak_rps"] = peak
    resp = client.post("/admin/campaigns", body, token=admin)
    assert resp.status == 201, resp.body
    assert resp.json()["expected_peak_rps"] == peak
    return resp.json()["campaign_id"]


def flash_sale(client, admin, actors, *, starts_in: float, lasts: float, peak: int | None) -> str:
    actors.store("s1")
    product = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 20}}
    assert client.post("/admin/products", product, token=admin).status == 201
    starts = clock.now() + timedelta(seconds=starts_in)
    body = {"sku": "latte", "store_ids": ["s1"], "price_fen": 990, "stock": 100, "per_member_limit": 1,
            "starts_at": to_rfc3339(starts), "ends_at": to_rfc3339(starts + timedelta(seconds=lasts))}
    if peak is not None:
        body["expected_peak_rps"] = peak
    resp = client.post("/admin/flash-sales", body, token=admin)
    assert resp.status == 201, resp.body
    assert resp.json()["expected_peak_rps"] == peak
    return resp.json()["flash_sale_id"]


def wait_for_execution(cloud, campaign_id: str, timeout: float = 20) -> dict:
    arn = cloud.ref("CampaignWarmStateMachine").replace(":stateMachine:", ":execution:") + f":{campaign_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = sfn().describe_execution(executionArn=arn)
        if run["status"] != "RUNNING":
            return run
        time.sleep(0.2)
    raise AssertionError("the warm flow did not finish")


def test_publish_warms_before_the_start_and_releases_after(cloud, client, actors):
    admin = actors.admin["token"]
    cid = campaign(client, admin, starts_in=2, lasts=3, peak=2000)
    assert client.post(f"/admin/campaigns/{cid}/publish", token=admin).status == 200
    run = wait_for_execution(cloud, cid)
    assert run["status"] == "SUCCEEDED", run
    want = expected(cloud, 2000)
    puts = {(f, a): n for op, f, a, n in cloud.provisioned.calls if op == "PutProvisionedConcurrencyConfig"}
    assert puts == want  # provisioned for the peak: the claim function and the authorizer, on their aliases
    deletes = {(f, a) for op, f, a, _ in cloud.provisioned.calls if op == "DeleteProvisionedConcurrencyConfig"}
    assert deletes == set(want)  # and released after the rush (here: the end)
    assert cloud.provisioned.configs == {}
    output = json.loads(run["output"])
    assert output["warm"]["warmed"] is True and output["release"]["released"] is True


def test_a_flash_sale_warms_its_order_path_and_the_authorizer_not_the_claim(cloud, client, actors):
    admin = actors.admin["token"]
    sale = flash_sale(client, admin, actors, starts_in=2, lasts=3, peak=3000)
    run = wait_for_execution(cloud, sale)
    assert run["status"] == "SUCCEEDED", run
    want = expected(cloud, 3000, "flash_sale")
    t = targets(cloud)
    assert set(want) == {(t["flash_order"]["function"], "live"), (t["authorizer"]["function"], "live")}
    puts = {(f, a): n for op, f, a, n in cloud.provisioned.calls if op == "PutProvisionedConcurrencyConfig"}
    assert puts == want and (t["claim"]["function"], "live") not in puts
    assert cloud.provisioned.configs == {}  # released after the rush
    assert json.loads(run["output"])["warm"]["warmed"] is True


def test_a_sale_and_a_campaign_at_once_add_up_on_the_authorizer(cloud, client, actors):
    admin = actors.admin["token"]
    cid = campaign(client, admin, starts_in=3600, lasts=3600, peak=1000)
    sale = flash_sale(client, admin, actors, starts_in=3600, lasts=3600, peak=2000)
    cloud.invoke(WARM_FN, {"input": {"campaign_id": cid}, "action": "warm"})
    cloud.invoke(WARM_FN, {"input": {"flash_sale_id": sale}, "action": "warm"})
    ec, es = expected(cloud, 1000), expected(cloud, 2000, "flash_sale")
    both = {k: ec.get(k, 0) + es.get(k, 0) for k in set(ec) | set(es)}
    assert cloud.provisioned.configs == both
    cloud.invoke(WARM_FN, {"input": {"campaign_id": cid}, "action": "release"})
    assert cloud.provisioned.configs == es  # the sale keeps the authorizer and its order function
    cloud.invoke(WARM_FN, {"input": {"flash_sale_id": sale}, "action": "release"})
    assert cloud.provisioned.configs == {}


def test_a_sale_without_a_peak_starts_no_warm_flow(cloud, client, actors):
    flash_sale(client, actors.admin["token"], actors, starts_in=3600, lasts=60, peak=None)
    assert sfn().list_executions(stateMachineArn=cloud.ref("CampaignWarmStateMachine"))["executions"] == []


def test_overlapping_campaigns_never_drop_below_what_another_needs(cloud, client, actors):
    admin = actors.admin["token"]
    a = campaign(client, admin, starts_in=3600, lasts=3600, peak=1000)
    b = campaign(client, admin, starts_in=3600, lasts=3600, peak=3000)
    ea, eb = expected(cloud, 1000), expected(cloud, 3000)
    cloud.invoke(WARM_FN, {"campaign_id": a, "action": "warm"})
    cloud.invoke(WARM_FN, {"campaign_id": a, "action": "warm"})  # a retried task changes nothing
    assert cloud.provisioned.configs == ea
    cloud.invoke(WARM_FN, {"campaign_id": b, "action": "warm"})
    assert cloud.provisioned.configs == {k: ea[k] + eb[k] for k in ea}
    out = cloud.invoke(WARM_FN, {"campaign_id": a, "action": "release"})
    assert out["released"] is True and cloud.provisioned.configs == eb  # b still gets all it needs
    again = cloud.invoke(WARM_FN, {"campaign_id": a, "action": "release"})
    assert again["released"] is False and cloud.provisioned.configs == eb
    cloud.invoke(WARM_FN, {"campaign_id": b, "action": "release"})
    assert cloud.provisioned.configs == {}


def test_no_peak_no_warm_flow_and_cancelled_is_not_warmed(cloud, client, actors):
    admin = actors.admin["token"]
    plain = campaign(client, admin, starts_in=3600, lasts=60, peak=None)
    assert client.post(f"/admin/campaigns/{plain}/publish", token=admin).status == 200
    runs = sfn().list_executions(stateMachineArn=cloud.ref("CampaignWarmStateMachine"))["executions"]
    assert runs == []
    peaky = campaign(client, admin, starts_in=3600, lasts=60, peak=500)
    assert client.post(f"/admin/campaigns/{peaky}/publish", token=admin).status == 200
    assert client.post(f"/admin/campaigns/{peaky}/cancel", token=admin).status == 200
    out = cloud.invoke(WARM_FN, {"campaign_id": peaky, "action": "warm"})
    assert out["warmed"] is False and cloud.provisioned.calls == []


@pytest.mark.parametrize("peak", [0, -5, 1_000_001, "many"])
def test_bad_peak_is_a_400(client, actors, peak):
    resp = client.post("/admin/campaigns", {
        "name": "x", "starts_at": to_rfc3339(clock.now() + timedelta(hours=1)),
        "ends_at": to_rfc3339(clock.now() + timedelta(hours=2)), "template_ids": ["t_x"],
        "expected_peak_rps": peak}, token=actors.admin["token"])
    assert resp.status == 400, resp.body
