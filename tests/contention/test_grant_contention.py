"""A grant is spent at most once: parallel sends for one member with N grants send exactly N messages, proven with
real threads invoking the sender function (and WeChat answering over loopback)."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from local.wechat_fake import openid_for
from storeloop.data import messages as messages_data
from storeloop.schemas.messages import OutboundMessage
from storeloop.services import messages
from tests.contention.racing import all_at_once

TEMPLATE = "9Ov4khE3YpMa1w0Lbp8tsUtcqTJsCpKAxumr4Gszb9o"





def sqs_event(member_id, message_id, record_id):
    body = OutboundMessage(message_id=message_id, member_id=member_id, template_id=TEMPLATE,
                           data={"thing1": {"value": "到店礼"}}, reason="contention",
                           enqueued_at="2026-12-01T10:00:00+08:00").model_dump_json()
    return {"Records": [{"messageId": record_id, "receiptHandle": "rh", "body": body,
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
                         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:ap-east-1:123456789012:q",
                         "awsRegion": "ap-east-1"}]}


def member_with_grants(client, actors, code, grants):
    who = actors.member(code)
    resp = client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                       token=who["token"])
    assert resp.status == 201
    for _ in range(grants):
        assert client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept"}},
                           token=who["token"]).status == 200
    return who


@pytest.mark.parametrize("grants", [0, 1, 7])
def test_20_parallel_sends_for_n_grants_send_exactly_n(cloud, client, actors, msg, grants):
    who = member_with_grants(client, actors, f"contender-{grants}", grants)
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(20)]
    results = all_at_once(20, lambda i: cloud.invoke("SendMessageFunction",
                                                     sqs_event(who["member_id"], ids[i], f"r-{i}")))
    assert all(r == {"batchItemFailures": []} for r in results), results  # none failed: sent or dropped
    assert len(msg.messages(touser=openid_for(f"contender-{grants}"))) == grants
    assert messages.grants_available(who["member_id"]).get(TEMPLATE, 0) == 0
    statuses = Counter((messages_data.get_send(who["member_id"], i) or messages_data.MessageSend(status="none")).status
                       for i in ids)
    assert statuses == ({"sent": grants, "none": 20 - grants} if grants else {"none": 20})


def test_one_message_delivered_to_10_invocations_at_once_is_sent_once(cloud, client, actors, msg):
    who = member_with_grants(client, actors, "contender-dupe", 5)
    message_id = f"msg_{uuid.uuid4().hex}"
    results = all_at_once(10, lambda i: cloud.invoke("SendMessageFunction",
                                                     sqs_event(who["member_id"], message_id, f"r-{i}")))
    assert len(msg.messages()) == 1
    assert messages.grants_available(who["member_id"])[TEMPLATE] == 4  # one grant spent, not ten
    # Copies that found the message mid-send fail (SQS retries them later and they then see it sent); the rest
    # found it sent or were the one that sent it.
    failed = [r for r in results if r["batchItemFailures"]]
    assert len(failed) <= 9
    assert messages_data.get_send(who["member_id"], message_id).status == "sent"
