"""The MainTable stream consumer survives bad records, and the local cloud delivers the stream as Lambda would.

- A record the consumer cannot count (a POS sale dated 9999-12-31, written straight into the table as a bug or an
  old writer could) is set aside with a metric and a log line naming its key; the rest of its batch is counted, and
  nothing is delivered again.
- If the function itself keeps failing on a record, the event source bisects the batch down to that record, retries
  it MaximumRetryAttempts times, skips it and sends Lambda's failure record to the template's on-failure queue,
  and every other record is counted.
"""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from local.cloud import REGION
from local.testing import ok
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339
from storeloop.services import analytics_stream
from tests.contention.test_claim_contention import live_campaign


def put_sale(cloud, sale_id: str, occurred_at: str, total_fen: int, store_id: str = "s1") -> None:
    """A finished till sale as the POS webhook leaves it, written straight into the table (no route checks it)."""
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=cloud.ref("MainTable"), Item={
        "PK": {"S": f"POSSALE#{store_id}#{sale_id}"}, "SK": {"S": "SALE"}, "store_id": {"S": store_id},
        "sale_id": {"S": sale_id}, "status": {"S": "done"}, "total_fen": {"N": str(total_fen)},
        "occurred_at": {"S": occurred_at}, "coupons_redeemed": {"L": []},
        "GSI2PK": {"S": f"STORE#{store_id}#SALES"}, "GSI2SK": {"S": f"{occurred_at}#{sale_id}"}})


def claim(client, campaign_id, template_id, who):
    return ok(client.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id}, token=who), 201)


def store_days(client, admin, store_id):
    today = clock.now().astimezone(CN_TZ).date()
    body = ok(client.get(f"/admin/analytics/stores/{store_id}", token=admin,
                         query={"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}))
    return {d["date"]: (d["orders"], d["revenue_fen"]) for d in body["days"] if d["orders"]}


def test_a_sale_dated_9999_is_set_aside_with_a_metric_and_its_key_and_the_rest_of_the_batch_is_counted(
        client, actors, cloud, caplog, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # the metric is printed (EMF) as in Lambda
    admin = actors.admin["token"]
    actors.store("s1")
    campaign_id, template_id = live_campaign(client, admin, total_stock=10, per_member_limit=5)
    shopper = actors.member("steady")["token"]
    claim(client, campaign_id, template_id, shopper)
    put_sale(cloud, "good-1", to_rfc3339(clock.now() - timedelta(minutes=5)), 1200)
    put_sale(cloud, "poison", "9999-12-31T23:59:59Z", 999)
    put_sale(cloud, "good-2", to_rfc3339(clock.now() - timedelta(minutes=4)), 800)
    claim(client, campaign_id, template_id, shopper)
    capsys.readouterr()
    caplog.clear()

    source = cloud.stream_sources[0]
    cloud.drain_streams()  # one batch holds them all, and the consumer does not fail it

    assert source.invocations == 1 and source.discarded == 0
    assert ok(client.get(f"/admin/analytics/campaigns/{campaign_id}", token=admin))["claimed"] == 2
    assert store_days(client, admin, "s1") == {clock.now().astimezone(CN_TZ).date().isoformat(): (2, 2000)}
    aside = [r for r in caplog.records if r.getMessage().startswith("stream record set aside")]
    assert [(r.getMessage(), r.pk, r.sk, r.levelname) for r in aside] == [  # type: ignore[attr-defined]
        ("stream record set aside: POSSALE#s1#poison SALE", "POSSALE#s1#poison", "SALE", "ERROR")]
    # a date past what datetime holds, or past the 2000-2100 the clock accepts: either way set aside
    assert ("OverflowError" in aside[0].error or "out of range" in aside[0].error)  # type: ignore[attr-defined]
    assert aside[0].sequence_number  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = [x for x in lines if "_aws" in x]
    assert [m[analytics_stream.SET_ASIDE_METRIC] for m in metrics if analytics_stream.SET_ASIDE_METRIC in m] == [[1.0]]

    cloud.drain_streams()  # nothing is delivered again
    assert source.invocations == 1


def test_a_record_the_function_keeps_failing_on_is_isolated_retried_skipped_and_reported(client, actors, cloud):
    admin = actors.admin["token"]
    actors.store("s1")
    campaign_id, template_id = live_campaign(client, admin, total_stock=20, per_member_limit=20)
    shopper = actors.member("steady")["token"]
    for _ in range(6):
        claim(client, campaign_id, template_id, shopper)
    put_sale(cloud, "crashes", to_rfc3339(clock.now()), 500)
    for _ in range(5):
        claim(client, campaign_id, template_id, shopper)

    real = cloud.handlers["AnalyticsFunction"]
    calls: list[tuple[int, bool]] = []  # (batch size, whether it held the record)

    def crashes_on_one_sale(event, context):  # a consumer bug that only this record triggers
        crash = any(r["dynamodb"]["Keys"]["PK"]["S"] == "POSSALE#s1#crashes" for r in event["Records"])
        calls.append((len(event["Records"]), crash))
        if crash:
            raise RuntimeError("consumer bug")
        return real(event, context)

    cloud.handlers["AnalyticsFunction"] = crashes_on_one_sale
    source = cloud.stream_sources[0]
    assert (source.bisect, source.max_retries, source.on_failure) == (True, 10, "AnalyticsStreamFailuresQueue")
    failures = 0
    for _ in range(40):  # each drain stops at the function's error, as a test should see it
        try:
            cloud.drain_streams()
            break
        except RuntimeError:
            failures += 1
    cloud.handlers["AnalyticsFunction"] = real

    assert source.discarded == 1  # the failing record alone, after bisection
    crashes = [size for size, crash in calls if crash]
    assert crashes.count(1) == source.max_retries + 1  # isolated, then tried once and retried MaximumRetryAttempts
    assert crashes[0] == sum(size for size, _ in calls[:1]) > 1  # the whole batch first
    assert crashes == sorted(crashes, reverse=True)  # then the half that holds it, and so on
    assert sum(size for size, crash in calls if not crash) == crashes[0] - 1  # each other record counted once
    assert failures == len(crashes) - 1  # every failed delivery but the last, which skipped the record
    assert ok(client.get(f"/admin/analytics/campaigns/{campaign_id}", token=admin))["claimed"] == 11
    sqs = boto3.client("sqs", region_name=REGION)
    got = sqs.receive_message(QueueUrl=cloud.ref("AnalyticsStreamFailuresQueue"), MaxNumberOfMessages=10)
    [message] = got["Messages"]
    info = json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    batch = info["DDBStreamBatchInfo"]
    assert batch["batchSize"] == 1 and batch["startSequenceNumber"] == batch["endSequenceNumber"]
    assert batch["streamArn"] == cloud.ref("MainTable", "StreamArn")
    assert "consumer bug" in info["error"]
