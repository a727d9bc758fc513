"""Outbound webhooks through the routes: HQ registers an endpoint, business events leave through MainTable's stream
and the SQS delivery queue, signed, to a loopback receiver; retries, the DLQ, pausing, rotation, no duplicate bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import boto3
import pytest

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.webhooks import verify


def error(resp):
    return resp.json()["error"]["code"]


def register(client, actors, url, events=("member.joined", "pos.sale"), **kw):
    resp = client.post("/admin/webhook-endpoints", {"url": url, "events": list(events)},
                       token=actors.admin["token"], **kw)
    assert resp.status == 201, resp.body
    return resp.json()


@pytest.fixture
def till(client, actors):
    actors.store("s1")
    secret = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]
    return secret


def pos_post(client, path, body, secret):
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return client.request("POST", path, raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})


def sale_by(client, actors, till, code="shopper-1", sale_id="S-1", total_fen=5890):
    shopper = actors.member(code)
    member_code = client.get("/me/member-code", token=shopper["token"]).json()["code"]
    body = {"sale_id": sale_id, "member_code": member_code, "total_fen": total_fen,
            "items": [{"sku": "latte", "qty": 1, "price_fen": total_fen}], "coupon_codes": [],
            "occurred_at": to_rfc3339(clock.now())}
    resp = pos_post(client, "/webhooks/pos/s1", body, till)
    assert resp.status == 200, resp.body
    return shopper


def flush(cloud):
    cloud.drain_streams()
    cloud.drain_queues()


def test_events_arrive_signed_and_verifiable(client, actors, cloud, receiver, till):
    endpoint = register(client, actors, receiver.url)
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"
    shopper = sale_by(client, actors, till)
    flush(cloud)
    got = receiver.received
    assert sorted(r.json()["type"] for r in got) == ["member.joined", "pos.sale"]
    for r in got:
        assert verify(endpoint["secret"], r.headers["x-storeloop-timestamp"], r.body,
                      r.headers["x-storeloop-signature"])
        assert not verify("whsec_wrong", r.headers["x-storeloop-timestamp"], r.body,
                          r.headers["x-storeloop-signature"])
        assert abs(int(r.headers["x-storeloop-timestamp"]) - time.time()) < 60
        assert set(r.json()) == {"id", "type", "created_at", "data"}
        assert r.headers["x-storeloop-event-id"] == r.json()["id"]
    joined = next(r.json() for r in got if r.json()["type"] == "member.joined")
    assert joined["data"] == {"member_id": shopper["member_id"], "tier": "bronze", "points": 58,
                              "joined_at": joined["data"]["joined_at"], "joined_store_id": "s1", "source": None,
                              "consent_scopes": []}


ALL = ("member.joined", "member.updated", "member.erased", "pos.sale", "pos.return")


def deliveries(client, actors, endpoint_id):
    resp = client.get(f"/admin/webhook-endpoints/{endpoint_id}/deliveries", token=actors.admin["token"])
    assert resp.status == 200, resp.body
    return resp.json()["items"]


def test_a_500_is_retried_and_the_event_delivered_once_after_recovery(client, actors, cloud, receiver, till):
    endpoint = register(client, actors, receiver.url, events=["pos.sale"])
    calls = []

    def answer(r):
        calls.append(r.json()["id"])
        return 500 if len(calls) == 1 else 200

    receiver.answer = answer
    sale_by(client, actors, till)
    flush(cloud)
    assert len(calls) == 2 and calls[0] == calls[1]  # the same event, twice: once failed, once delivered
    assert receiver.received[0].body == receiver.received[1].body  # the same bytes each time
    [row] = deliveries(client, actors, endpoint["endpoint_id"])
    assert row["status"] == "delivered" and row["attempts"] == 2 and row["event_id"] == calls[0]
    assert [a["status_code"] for a in row["attempt_log"]] == [500, 200]
    assert row["attempt_log"][0]["error"].startswith("HTTP 500")
    flush(cloud)
    assert len(receiver.received) == 2  # nothing more once delivered
    listed = client.get("/admin/webhook-endpoints", token=actors.admin["token"]).json()["items"]
    assert listed[0]["failing_since"] is None and listed[0]["last_success_at"]


def test_after_the_last_retry_the_message_is_kept_in_the_dlq(client, actors, cloud, receiver, till):
    endpoint = register(client, actors, receiver.url, events=["pos.sale"])
    receiver.answer = lambda r: 503
    sale_by(client, actors, till)
    flush(cloud)
    attempts = cloud.environment["WEBHOOK_MAX_ATTEMPTS"]
    assert len(receiver.received) == int(attempts) == 8
    [row] = deliveries(client, actors, endpoint["endpoint_id"])
    assert row["status"] == "dead_lettered" and row["attempts"] == 8 and row["last_status_code"] == 503
    sqs = boto3.client("sqs", region_name=REGION)
    got = sqs.receive_message(QueueUrl=cloud.ref("WebhookDeliveryDLQ"), MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["event_id"] for m in got] == [row["event_id"]]
    assert not sqs.receive_message(QueueUrl=cloud.ref("WebhookDeliveryQueue")).get("Messages")
    receiver.answer = lambda r: 200
    flush(cloud)
    assert len(receiver.received) == 8  # the DLQ is not retried by itself
    # Ops redrive it once the receiver is fixed: delivered, the same body, the attempts recorded on.
    for m in got:
        sqs.send_message(QueueUrl=cloud.ref("WebhookDeliveryQueue"), MessageBody=m["Body"],
                         MessageGroupId="redrive", MessageDeduplicationId="redrive-1")
    flush(cloud)
    assert len(receiver.received) == 9 and receiver.received[8].body == receiver.received[0].body
    [row] = deliveries(client, actors, endpoint["endpoint_id"])
    assert row["status"] == "delivered" and row["attempts"] == 9


def test_one_members_events_arrive_in_order_even_when_the_first_fails(client, actors, cloud, receiver, till):
    register(client, actors, receiver.url, events=["member.joined", "member.updated"])
    failed = []

    def answer(r):
        if r.json()["type"] == "member.joined" and not failed:
            failed.append(r)
            return 500
        return 200

    receiver.answer = answer
    sale_by(client, actors, till, sale_id="S-1")
    sale_by(client, actors, till, sale_id="S-2")  # more points: member.updated
    flush(cloud)
    types = [r.json()["type"] for r in receiver.received]
    assert types == ["member.joined", "member.joined", "member.updated"]
    assert receiver.received[2].json()["data"]["points"] == 116


def test_stream_redelivery_never_sends_a_second_body_for_an_id(client, actors, cloud, receiver, till):
    register(client, actors, receiver.url, events=list(ALL))
    shopper = sale_by(client, actors, till)
    flush(cloud)
    first = {r.json()["id"]: r.body for r in receiver.received}
    assert len(first) == 2
    # Something the member.joined body reads changes, then the stream hands every record out again.
    resp = client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                       token=shopper["token"])
    assert resp.status == 201
    cloud.redeliver_streams("WebhookEventsFunction")
    flush(cloud)
    cloud.redeliver_streams("WebhookEventsFunction")
    flush(cloud)
    by_id: dict[str, set[bytes]] = {}
    for r in receiver.received:
        by_id.setdefault(r.json()["id"], set()).add(r.body)
    assert all(len(bodies) == 1 for bodies in by_id.values()), by_id
    assert {i: next(iter(b)) for i, b in by_id.items() if i in first} == first
    types = sorted(r.json()["type"] for r in receiver.received)
    assert types == ["member.joined", "member.updated", "pos.sale"]  # each once: the consent is the one new event
    updated = next(r.json() for r in receiver.received if r.json()["type"] == "member.updated")
    assert updated["data"]["consent_scopes"] == ["marketing_messages"]


def test_bodies_carry_no_personal_data_and_erasure_sends_only_the_id(client, actors, cloud, receiver, till):
    register(client, actors, receiver.url, events=list(ALL))
    shopper = sale_by(client, actors, till)
    flush(cloud)
    assert client.delete("/me", token=shopper["token"]).status == 200
    flush(cloud)
    erased = [r.json() for r in receiver.received if r.json()["type"] == "member.erased"]
    assert len(erased) == 1 and erased[0]["data"] == {"member_id": shopper["member_id"]}
    for r in receiver.received:
        text = r.body.decode()
        assert "openid" not in text and "phone" not in text and "member_code" not in text


def test_an_endpoint_failing_for_24_hours_is_paused_with_its_reason(client, actors, cloud, receiver, till):
    endpoint = register(client, actors, receiver.url, events=["pos.sale"])
    receiver.answer = lambda r: 500
    sale_by(client, actors, till, sale_id="S-1")
    cloud.drain_streams()
    # The endpoint has been failing for a day: the next failure pauses it.
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=cloud.ref("MainTable"), Key={"PK": {"S": f"WEBHOOK#{endpoint['endpoint_id']}"},
                                               "SK": {"S": "ENDPOINT"}},
        UpdateExpression="SET failing_since = :t",
        ExpressionAttributeValues={":t": {"S": to_rfc3339(clock.now() - timedelta(hours=25))}})  # test only
    cloud.drain_queues()
    listed = client.get("/admin/webhook-endpoints", token=actors.admin["token"]).json()["items"]
    assert listed[0]["status"] == "paused" and "HTTP 500" in listed[0]["paused_reason"]
    sent = len(receiver.received)
    sale_by(client, actors, till, sale_id="S-2")
    flush(cloud)
    assert len(receiver.received) == sent  # paused: nothing sent
    rows = deliveries(client, actors, endpoint["endpoint_id"])
    # Both paused: the failing one handed back after the pause, and the new one never tried.
    assert sorted((r["status"], r["attempts"]) for r in rows) == [("paused", 0), ("paused", 1)]
    resumed = client.post(f"/admin/webhook-endpoints/{endpoint['endpoint_id']}/resume", token=actors.admin["token"])
    assert resumed.status == 200 and resumed.json()["status"] == "active" and resumed.json()["paused_reason"] is None


def test_a_rotated_secret_and_the_previous_one_both_verify_during_the_grace(client, actors, cloud, receiver, till):
    endpoint = register(client, actors, receiver.url, events=["pos.sale"])
    resp = client.post(f"/admin/webhook-endpoints/{endpoint['endpoint_id']}/secret", token=actors.admin["token"])
    assert resp.status == 200, resp.body
    rotated = resp.json()
    assert rotated["secret"] != endpoint["secret"] and rotated["previous_valid_until"]
    sale_by(client, actors, till)
    flush(cloud)
    [r] = receiver.received
    ts, sig = r.headers["x-storeloop-timestamp"], r.headers["x-storeloop-signature"]
    assert verify(rotated["secret"], ts, r.body, sig) and verify(endpoint["secret"], ts, r.body, sig)
    assert sig.split(",")[0] == hmac.new(rotated["secret"].encode(), ts.encode() + b"." + r.body,
                                         hashlib.sha256).hexdigest()  # the current secret's signature first
    listed = client.get("/admin/webhook-endpoints", token=actors.admin["token"]).json()["items"][0]
    assert "secret" not in listed and listed["previous_secret_valid_until"] == rotated["previous_valid_until"]


@pytest.mark.parametrize("url", ["http://example.com/hook", "ftp://127.0.0.1/x", "http://10.0.0.7/hook",
                                 "https://192.168.1.10/hook", "http://169.254.169.254/latest/meta-data",
                                 "https://user:pw@127.0.0.1/x", "not a url", "http://[::ffff:10.0.0.1]/x"])
def test_urls_that_may_not_receive_webhooks_are_refused(client, actors, url):
    resp = client.post("/admin/webhook-endpoints", {"url": url, "events": ["pos.sale"]}, token=actors.admin["token"])
    assert resp.status == 400, resp.body
    assert error(resp) == "VALIDATION_FAILED"


def test_bad_bodies_and_non_admins_are_refused(client, actors, receiver):
    admin = actors.admin["token"]
    for body in ({"url": receiver.url, "events": []}, {"url": receiver.url, "events": ["order.eaten"]},
                 {"url": receiver.url, "events": ["pos.sale", "pos.sale"]}, {"url": receiver.url},
                 {"url": receiver.url, "events": ["pos.sale"], "secret": "mine"}):
        resp = client.post("/admin/webhook-endpoints", body, token=admin)
        assert resp.status == 400, (body, resp.body)
    shopper = actors.member("not-admin")
    assert client.post("/admin/webhook-endpoints", {"url": receiver.url, "events": ["pos.sale"]},
                       token=shopper["token"]).status == 403
    assert client.get("/admin/webhook-endpoints", token=shopper["token"]).status == 403
    assert client.get("/admin/webhook-endpoints/wh_nope/deliveries", token=admin).status == 404
    assert client.post("/admin/webhook-endpoints/wh_nope/secret", token=admin).status == 404


def test_the_same_idempotency_key_creates_one_endpoint_and_never_reshows_the_secret(client, actors, receiver):
    headers = {"Idempotency-Key": "wh-key-1"}
    body = {"url": receiver.url, "events": ["pos.sale"]}
    first = client.post("/admin/webhook-endpoints", body, token=actors.admin["token"], headers=headers)
    again = client.post("/admin/webhook-endpoints", body, token=actors.admin["token"], headers=headers)
    assert first.status == 201 and again.status == 200
    assert again.json()["endpoint_id"] == first.json()["endpoint_id"] and again.json()["secret"] is None
    assert first.json()["secret"].startswith("whsec_")
    other = client.post("/admin/webhook-endpoints", {**body, "events": ["pos.return"]}, token=actors.admin["token"],
                        headers=headers)
    assert other.status == 409 and error(other) == "IDEMPOTENCY_KEY_REUSED"
    assert len(client.get("/admin/webhook-endpoints", token=actors.admin["token"]).json()["items"]) == 1


def test_garbage_is_a_4xx_never_a_500(client, actors, receiver, till):
    admin = actors.admin["token"]
    raw = client.request("POST", "/admin/webhook-endpoints", raw=b"{not json", token=admin,
                         headers={"Content-Type": "application/json"})
    assert raw.status == 400
    for body in ({"url": "x" * 5000, "events": ["pos.sale"]}, {"url": receiver.url, "events": "pos.sale"},
                 {"url": 7, "events": ["pos.sale"]}, [], None):
        resp = client.post("/admin/webhook-endpoints", body, token=admin)
        assert resp.status == 400, (body, resp.body)
    for query in ({"limit": "0"}, {"limit": "101"}, {"cursor": "%%%"}, {"cursor": "W10"}):
        assert client.get("/admin/webhook-endpoints", token=admin, query=query).status == 400, query
    endpoint = register(client, actors, receiver.url)
    path = f"/admin/webhook-endpoints/{endpoint['endpoint_id']}/deliveries"
    assert client.get(path, token=admin, query={"cursor": "bm9wZQ"}).status == 400
    assert client.get("/admin/webhook-endpoints/" + "x" * 300 + "/deliveries", token=admin).status == 404
    for path in ("/webhooks/pos/s1/stock", "/webhooks/pos/s1/returns"):
        ts = str(int(time.time()))
        garbage = b"{not json"
        sig = hmac.new(till.encode(), ts.encode() + b"." + garbage, hashlib.sha256).hexdigest()
        resp = client.request("POST", path, raw=garbage, headers={
            "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})
        assert resp.status == 400, resp.body
