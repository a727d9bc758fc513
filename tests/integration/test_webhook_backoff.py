"""A failed delivery backs off exponentially: its SQS message stays invisible base·2^(attempt-1) seconds (here the
base is 1 s) before SQS hands it out again. Driven message by message, as Lambda's poller does, since the local
cloud's drain_queues hands failed messages back at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest

from local.cloud import REGION, LocalCloud
from tests.integration.test_webhooks import register, sale_by


@pytest.fixture
def cloud(wechat) -> Iterator[LocalCloud]:
    stack = LocalCloud(wechat_base=wechat.base_url, overrides={"WEBHOOK_RETRY_BASE_SECONDS": "1"}).start()
    yield stack
    stack.stop()


@pytest.fixture
def receiver(receiver):
    receiver.answer = lambda got: 500
    return receiver


def receive(sqs, url):
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages") or []
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": m["Attributes"], "messageAttributes": {}, "eventSource": "aws:sqs"} for m in got]


def test_each_failure_doubles_the_wait_before_the_next_attempt(client, actors, cloud, receiver):
    actors.store("s1")
    till = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]
    register(client, actors, receiver.url, events=["pos.sale"])
    sale_by(client, actors, till)
    cloud.drain_streams()
    sqs, url = boto3.client("sqs", region_name=REGION), cloud.ref("WebhookDeliveryQueue")
    waits = []
    records = receive(sqs, url)
    for attempt in (1, 2):
        assert len(records) == 1 and records[0]["attributes"]["ApproximateReceiveCount"] == str(attempt)
        answer = cloud.invoke("DeliverWebhookFunction", {"Records": records})
        assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
        failed_at = time.monotonic()
        records = []
        while not records:
            assert time.monotonic() - failed_at < 10, "the message did not come back"
            time.sleep(0.1)
            records = receive(sqs, url)
        waits.append(time.monotonic() - failed_at)
    # Not back before 1 s, then not before 2 s (the doubling); back within seconds, not the queue's 360 s.
    assert waits[0] >= 0.9 and waits[1] >= 1.9 and max(waits) < 10, waits
    assert len(receiver.received) == 2
