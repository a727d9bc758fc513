"""Consents through the routes: recorded with the policy version, history kept, scopes validated, idempotent."""

from __future__ import annotations

import json

import pytest

from local.stack import ROOT
from storeloop.data import consents as consents_data
from storeloop.services.consents import current_consent


def post_consent(client, token, body, **kw):
    return client.post("/me/consents", body, token=token, **kw)


def test_a_consent_is_recorded_with_its_policy_version(client, actors):
    who = actors.member("consenter-1")
    resp = post_consent(client, who["token"], {"policy_version": "2026-11", "scopes": ["marketing_messages"]})
    assert resp.status == 201, resp.body
    body = resp.json()
    assert body["policy_version"] == "2026-11" and body["scopes"] == ["marketing_messages"]
    assert body["consent_id"].startswith("c_") and body["recorded_at"].endswith("+08:00")
    current = current_consent(who["member_id"])
    assert current is not None and current.consent_id == body["consent_id"]


def test_each_consent_is_kept_and_the_latest_is_current(client, actors):
    who = actors.member("consenter-2")
    given = []
    for version, scopes in [("2026-01", ["marketing_messages", "location"]), ("2026-11", ["analytics"]),
                            ("2026-11", [])]:
        resp = post_consent(client, who["token"], {"policy_version": version, "scopes": scopes})
        assert resp.status == 201
        given.append(resp.json())
    history = consents_data.consent_history(who["member_id"])
    assert [h.consent_id for h in history] == [g["consent_id"] for g in given]  # oldest first, none lost
    assert [h.scopes for h in history] == [["marketing_messages", "location"], ["analytics"], []]
    current = consents_data.current_consent(who["member_id"], consistent=True)
    assert current.consent_id == given[-1]["consent_id"] and current.scopes == []
    # The export shows the same, in the member's words.
    export = client.get("/me/export", token=who["token"]).json()["consents"]
    assert export["current"]["consent_id"] == given[-1]["consent_id"]
    assert [h["policy_version"] for h in export["history"]] == ["2026-01", "2026-11", "2026-11"]


def test_repeated_scopes_count_once(client, actors):
    who = actors.member("consenter-3")
    resp = post_consent(client, who["token"], {"policy_version": "v3",
                                               "scopes": ["location", "location", "marketing_messages"]})
    assert resp.status == 201 and resp.json()["scopes"] == ["location", "marketing_messages"]


def test_the_same_idempotency_key_records_once(client, actors):
    who = actors.member("consenter-4")
    body = {"policy_version": "2026-11", "scopes": ["marketing_messages"]}
    first = post_consent(client, who["token"], body, headers={"Idempotency-Key": "consent-1"})
    again = post_consent(client, who["token"], body, headers={"Idempotency-Key": "consent-1"})
    assert first.status == again.status == 201 and again.json() == first.json()
    other = post_consent(client, who["token"], {**body, "scopes": []}, headers={"Idempotency-Key": "consent-1"})
    assert other.status == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(consents_data.consent_history(who["member_id"])) == 1


@pytest.mark.parametrize("body,field", [
    ({"policy_version": "2026-11", "scopes": ["newsletter"]}, "scopes.0"),
    ({"policy_version": "2026-11", "scopes": "marketing_messages"}, "scopes"),
    ({"scopes": ["marketing_messages"]}, "policy_version"),
    ({"policy_version": "", "scopes": []}, "policy_version"),
    ({"policy_version": "a version with spaces", "scopes": []}, "policy_version"),
    ({"policy_version": "2026-11"}, "scopes"),
    ({"policy_version": "2026-11", "scopes": [], "phone": "13800138000"}, "phone"),
])
def test_bad_consents_are_400_naming_the_field(client, actors, body, field):
    who = actors.member("consenter-bad")
    resp = post_consent(client, who["token"], body)
    assert resp.status == 400, resp.body
    err = resp.json()["error"]
    assert err["code"] == "VALIDATION_FAILED"
    assert field in [d["field"] for d in err["details"]], err["details"]
    assert consents_data.current_consent(who["member_id"]) is None


def test_consents_need_a_token(client):
    resp = post_consent(client, None, {"policy_version": "2026-11", "scopes": []})
    assert resp.status == 401 and resp.json()["error"]["code"] == "UNAUTHENTICATED"


def test_the_sample_event_runs(cloud, actors):
    who = actors.member("consenter-sample")
    event = json.loads((ROOT / "events" / "record_consent.json").read_text())
    event["requestContext"]["authorizer"].update(member_id=who["member_id"], principalId=who["member_id"])
    result = cloud.invoke("RecordConsentFunction", event)
    assert result["statusCode"] == 201, result
    assert consents_data.current_consent(who["member_id"]).scopes == ["marketing_messages", "location"]
