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
from local.webhook_receiver import WebhookReceiver
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.webhooks import verify


@pytest.fixture
def receiver():
    r = WebhookReceiver().start()
    yield r
    r.stop()


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
