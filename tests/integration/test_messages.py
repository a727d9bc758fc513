"""Subscription messages through the routes and the queue: grants, consent, 43101, token refresh, retries, DLQ."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from local.stack import ROOT
from local.wechat_fake import openid_for
from storeloop.data import messages as messages_data
from storeloop.services import messages
from storeloop.settings import get_settings

TEMPLATE = "9Ov4khE3YpMa1w0Lbp8tsUtcqTJsCpKAxumr4Gszb9o"
OTHER = "xR2fQk0ZbC7s5d1XyTqLm3nOpW8vYu4aHgJe6iKtF9c"


@pytest.fixture
def msg(wechat):
    wechat.msg.reset()
    wechat.msg.token_expires_in = 7200
    yield wechat.msg
    wechat.msg.reset()


def subscribe(client, token, results, **kw):
    return client.post("/me/message-subscriptions", {"results": results}, token=token, **kw)


def consent(client, token, scopes=("marketing_messages",), version="2026-11"):
    resp = client.post("/me/consents", {"policy_version": version, "scopes": list(scopes)}, token=token)
    assert resp.status == 201, resp.body
    return resp.json()


def enqueue(cloud, member_id, template_id=TEMPLATE, **kw):
    settings = get_settings().model_copy(update={"message_queue_url": cloud.ref("OutboundMessagesQueue")})
    return messages.enqueue_message(member_id, template_id, kw.pop("data", {"thing1": "到店礼"}), kw.pop("page", None),
                                    kw.pop("reason", "test"), settings=settings, **kw)


def queue_depth(cloud, logical_id):
    sqs = boto3.client("sqs", region_name="ap-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=cloud.ref(logical_id),
                                      AttributeNames=["ApproximateNumberOfMessages",
                                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def available(member_id, template_id=TEMPLATE):
    return messages.grants_available(member_id).get(template_id, 0)


def shopper(actors, client, code="shopper-msg", grants=1, scopes=("marketing_messages",)):
    who = actors.member(code)
    if scopes is not None:
        consent(client, who["token"], scopes)
    for _ in range(grants):
        assert subscribe(client, who["token"], {TEMPLATE: "accept"}).status == 200
    return who


# ------------------------------------------------------------------------------------------- grants


def test_each_accept_is_one_grant_and_other_answers_none(client, actors):
    who = actors.member("shopper-grants")
    resp = subscribe(client, who["token"], {TEMPLATE: "accept", OTHER: "reject"})
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["accepted"] == [TEMPLATE] and body["not_accepted"] == [OTHER]
    assert {g["template_id"]: g["available"] for g in body["grants"]} == {TEMPLATE: 1, OTHER: 0}
    resp = subscribe(client, who["token"], {TEMPLATE: "accept", OTHER: "ban"})
    assert {g["template_id"]: g["available"] for g in resp.json()["grants"]} == {TEMPLATE: 2, OTHER: 0}
    assert available(who["member_id"]) == 2


def test_a_replayed_subscription_with_its_key_adds_nothing(client, actors):
    who = actors.member("shopper-replay")
    first = subscribe(client, who["token"], {TEMPLATE: "accept"}, headers={"Idempotency-Key": "sub-1"})
    again = subscribe(client, who["token"], {TEMPLATE: "accept"}, headers={"Idempotency-Key": "sub-1"})
    assert first.status == again.status == 200
    assert again.json() == first.json()
    assert available(who["member_id"]) == 1


@pytest.mark.parametrize("body", [
    {"results": {}},
    {"results": {TEMPLATE: "maybe"}},
    {"results": {"not a template id!": "accept"}},
    {"results": [TEMPLATE]},
    {"results": {TEMPLATE: "accept"}, "extra": 1},
    {},
])
def test_bad_subscriptions_are_400_with_the_envelope(client, actors, body):
    who = actors.member("shopper-bad")
    resp = client.post("/me/message-subscriptions", body, token=who["token"])
    assert resp.status == 400, resp.body
    err = resp.json()["error"]
    assert err["code"] == "VALIDATION_FAILED" and err["details"] and err["request_id"]
    assert available(who["member_id"]) == 0


def test_not_json_and_no_token(client, actors):
    who = actors.member("shopper-bad-2")
    resp = client.request("POST", "/me/message-subscriptions", raw=b"{not json", token=who["token"],
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json()["error"]["code"] == "VALIDATION_FAILED"
    resp = client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept"}})
    assert resp.status == 401 and resp.json()["error"]["code"] == "UNAUTHENTICATED"


# ------------------------------------------------------------------------------------------- sending


def test_a_grant_and_the_consent_make_one_send(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-send", grants=1)
    enqueue(cloud, who["member_id"], page="pages/campaign/index?id=c1",
            data={"thing1": "双十一", "time2": {"value": "x"}})
    cloud.drain_queues()
    sent = msg.messages(touser=openid_for("shopper-send"))
    assert len(sent) == 1
    assert sent[0]["template_id"] == TEMPLATE and sent[0]["page"] == "pages/campaign/index?id=c1"
    assert sent[0]["data"] == {"thing1": {"value": "双十一"}, "time2": {"value": "x"}}
    assert available(who["member_id"]) == 0
    # The grant is spent: the next message for that template is dropped, not retried.
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert len(msg.messages(touser=openid_for("shopper-send"))) == 1
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 0


def test_no_grant_means_no_send(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-nogrant", grants=0)
    assert subscribe(client, who["token"], {OTHER: "accept"}).status == 200  # a grant for another template
    enqueue(cloud, who["member_id"], TEMPLATE)
    cloud.drain_queues()
    assert msg.messages() == [] and msg.send_calls == 0
    assert available(who["member_id"], OTHER) == 1
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 0


def test_without_the_marketing_consent_nothing_is_sent_and_the_grant_stays(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-noconsent", grants=1, scopes=None)
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.messages() == []
    assert available(who["member_id"]) == 1
    consent(client, who["token"], ["location"])  # another scope is not enough
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.messages() == []
    consent(client, who["token"], ["marketing_messages", "location"])
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert len(msg.messages()) == 1 and available(who["member_id"]) == 0
    # Withdrawn (a new consent without the scope): dropped again.
    assert subscribe(client, who["token"], {TEMPLATE: "accept"}).status == 200
    consent(client, who["token"], [])
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert len(msg.messages()) == 1 and available(who["member_id"]) == 1


def test_a_redelivered_message_is_sent_once_and_spends_one_grant(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-dupe", grants=3)
    for _ in range(3):
        enqueue(cloud, who["member_id"], message_id="campaign-1:reminder")
    cloud.drain_queues()
    assert len(msg.messages()) == 1
    assert available(who["member_id"]) == 2


def test_43101_zeroes_the_grant_and_is_not_retried(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-43101", grants=3)
    msg.reject_openid(openid_for("shopper-43101"))
    message_id = enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.messages() == [] and msg.send_calls == 1  # asked once, never again
    assert available(who["member_id"]) == 0
    record = messages_data.get_send(who["member_id"], message_id)
    assert record.status == "dropped" and record.outcome == "wechat_43101"
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 0


@pytest.mark.parametrize("hook,errcode", [("expire_tokens", 42001), ("invalidate_tokens", 40001)])
def test_a_rejected_token_is_refreshed_and_the_send_retried_once(cloud, client, actors, msg, hook, errcode):
    who = shopper(actors, client, "shopper-token", grants=3)
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.token_calls == 1 and len(msg.messages()) == 1
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.token_calls == 1 and len(msg.messages()) == 2  # the cached token, shared through the table
    getattr(msg, hook)()  # WeChat now answers `errcode` for every token it issued
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.token_calls == 2  # refreshed once
    assert msg.send_calls == 4  # the rejected send and its one retry
    assert len(msg.messages()) == 3 and available(who["member_id"]) == 0


def test_a_token_past_its_validity_is_refreshed_before_sending(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-expiry", grants=2)
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    stored = messages_data.load_access_token(get_settings().wechat_appid)
    assert stored is not None and stored.valid_until > time.time() + 3600
    assert "at_" not in stored.token_enc  # encrypted at rest
    item = messages_data.AccessTokenCache.get(messages_data.TOKEN_PK, f"APP#{get_settings().wechat_appid}")
    item.update(actions=[messages_data.AccessTokenCache.valid_until.set(int(time.time()) - 1)])
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.token_calls == 2 and msg.send_calls == 2 and len(msg.messages()) == 2
    assert messages_data.load_access_token(get_settings().wechat_appid).generation == stored.generation + 1


def test_a_token_that_keeps_failing_fails_the_record_and_gives_the_grant_back(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-token-2", grants=1)
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert len(msg.messages()) == 1
    assert subscribe(client, who["token"], {TEMPLATE: "accept"}).status == 200
    msg.refuse_all_tokens()  # every token, the cached one and every fresh one, answers 40001
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.token_calls == 1 + 3  # one refresh per receive, three receives
    assert msg.send_calls == 1 + 3 * 2  # each receive: the send and its one retry
    assert len(msg.messages()) == 1
    assert available(who["member_id"]) == 1  # given back each time
    assert queue_depth(cloud, "OutboundMessagesDLQ") == 1


def test_a_passing_failure_is_retried_and_sent_once(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-retry", grants=2)
    msg.fail_sends(1)  # HTTP 500
    msg.fail_sends(1, status=200, errcode=-1)  # "system busy"
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.send_calls == 3 and len(msg.messages()) == 1
    assert available(who["member_id"]) == 1  # one spent, not three
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 0


def test_a_lasting_failure_goes_to_the_dlq_after_three_receives_with_the_grant_kept(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-dlq", grants=1)
    msg.fail_sends(100)
    message_id = enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    assert msg.send_calls == 3 and msg.messages() == []  # maxReceiveCount 3
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 1
    assert available(who["member_id"]) == 1
    assert messages_data.get_send(who["member_id"], message_id) is None
    # Once WeChat is back, a redrive from the DLQ sends it with the grant that was kept.
    msg.reset()
    sqs = boto3.client("sqs", region_name="ap-east-1")
    got = sqs.receive_message(QueueUrl=cloud.ref("OutboundMessagesDLQ"), MaxNumberOfMessages=10)["Messages"]
    assert json.loads(got[0]["Body"])["message_id"] == message_id
    assert "openid" not in got[0]["Body"] and openid_for("shopper-dlq") not in got[0]["Body"]
    sqs.send_message(QueueUrl=cloud.ref("OutboundMessagesQueue"), MessageBody=got[0]["Body"])
    cloud.drain_queues()
    assert len(msg.messages()) == 1 and available(who["member_id"]) == 0


def test_an_attempt_that_died_after_spending_the_grant_is_taken_over_without_spending_another(
        cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-crash", grants=2)
    message_id = "msg_" + uuid.uuid4().hex
    # A previous attempt spent a grant and died before calling WeChat: its record is "sending", its lease over.
    claim = messages_data.SendClaim(who["member_id"], TEMPLATE, message_id, "dead-attempt")
    assert messages_data.claim_grant(claim, "test", "marketing_messages", time.time() - 1) == "claimed"
    assert available(who["member_id"]) == 1
    enqueue(cloud, who["member_id"], message_id=message_id)
    cloud.drain_queues()
    assert len(msg.messages()) == 1
    assert available(who["member_id"]) == 1  # the dead attempt's grant was used, no second one
    assert messages_data.get_send(who["member_id"], message_id).status == "sent"


def test_a_running_attempt_is_not_taken_over(cloud, client, actors, msg):
    who = shopper(actors, client, "shopper-running", grants=2)
    message_id = "msg_" + uuid.uuid4().hex
    claim = messages_data.SendClaim(who["member_id"], TEMPLATE, message_id, "live-attempt")
    assert messages_data.claim_grant(claim, "test", "marketing_messages", time.time() + 300) == "claimed"
    body = messages.OutboundMessage(message_id=message_id, member_id=who["member_id"], template_id=TEMPLATE,
                                    data={}, reason="test", enqueued_at="2026-12-01T10:00:00+08:00")
    result = cloud.invoke("SendMessageFunction", sqs_event(body.model_dump_json()))
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-1"}]  # retried later, not sent twice
    assert msg.messages() == [] and available(who["member_id"]) == 1


def test_a_malformed_message_fails_and_ends_in_the_dlq(cloud, msg):
    sqs = boto3.client("sqs", region_name="ap-east-1")
    sqs.send_message(QueueUrl=cloud.ref("OutboundMessagesQueue"), MessageBody='{"member_id": 1}')
    cloud.drain_queues()
    assert queue_depth(cloud, "OutboundMessagesDLQ") == 1 and msg.send_calls == 0


def test_a_message_for_an_unknown_member_is_dropped(cloud, msg):
    enqueue(cloud, "m_nobody")
    cloud.drain_queues()
    assert msg.send_calls == 0
    assert queue_depth(cloud, "OutboundMessagesQueue") == 0 and queue_depth(cloud, "OutboundMessagesDLQ") == 0


def test_enqueue_needs_the_queue_url(cloud):
    settings = get_settings().model_copy(update={"message_queue_url": ""})
    with pytest.raises(RuntimeError, match="MESSAGE_QUEUE_URL"):
        messages.enqueue_message("m_x", TEMPLATE, {}, None, "test", settings=settings)


def test_the_sim_route_lists_what_was_sent(cloud, client, actors, msg, wechat):
    import urllib.request

    who = shopper(actors, client, "shopper-sim", grants=1)
    enqueue(cloud, who["member_id"])
    cloud.drain_queues()
    with urllib.request.urlopen(f"{wechat.base_url}/_sim/messages") as resp:  # noqa: S310 - loopback
        items = json.loads(resp.read())["items"]
    assert [(m["touser"], m["template_id"]) for m in items] == [(openid_for("shopper-sim"), TEMPLATE)]


def sqs_event(body, message_id="m-1"):
    return {"Records": [{"messageId": message_id, "receiptHandle": "rh", "body": body,
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                         "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:ap-east-1:123456789012:q", "awsRegion": "ap-east-1"}]}


def test_the_sample_event_runs(cloud, msg):
    event = json.loads((ROOT / "events" / "send_message.json").read_text())
    result = cloud.invoke("SendMessageFunction", event)
    assert result == {"batchItemFailures": []}  # the sample's member does not exist here: dropped, not failed


def test_the_audience_of_a_template_is_its_unused_grant_holders(cloud, client, actors, msg):
    holders = [shopper(actors, client, f"audience-{i}", grants=1) for i in range(6)]
    spent = holders[0]
    enqueue(cloud, spent["member_id"])
    cloud.drain_queues()  # spends audience-0's only grant
    gone = holders[1]
    assert client.delete("/me", token=gone["token"]).status == 200
    assert sorted(messages.audience(TEMPLATE)) == sorted(h["member_id"] for h in holders[2:])
    assert list(messages.audience(OTHER)) == []


def test_many_messages_are_queued_in_batches(cloud, client, actors, msg):
    who = [shopper(actors, client, f"batch-{i}", grants=1) for i in range(12)]
    settings = get_settings().model_copy(update={"message_queue_url": cloud.ref("OutboundMessagesQueue")})
    batch = [messages.outbound_message(w["member_id"], TEMPLATE, {"thing1": "到店礼"}, None, "campaign_notify",
                                       message_id=f"cp_1:{w['member_id']}:notify") for w in who]
    ids = messages.enqueue_messages(batch, settings=settings)
    assert ids == [f"cp_1:{w['member_id']}:notify" for w in who]
    messages.enqueue_messages(batch, settings=settings)  # a retried batch: the same ids, nothing sent twice
    cloud.drain_queues()
    assert sorted(m["touser"] for m in msg.messages()) == sorted(openid_for(f"batch-{i}") for i in range(12))
