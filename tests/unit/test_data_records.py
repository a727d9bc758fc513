"""data/records.py and data/keys.py: what a stream record is about, read from its keys, without AWS."""

from __future__ import annotations

from storeloop.data.keys import campaign_pk, member_pk
from storeloop.data.records import images, record_keys, record_kind, record_label


def _record(pk: str, sk: str, new: dict | None = None) -> dict:
    body: dict = {"Keys": {"PK": {"S": pk}, "SK": {"S": sk}}}
    if new is not None:
        body["NewImage"] = new
    return {"eventName": "INSERT", "dynamodb": body}


def test_kinds_come_from_the_keys():
    assert record_kind(_record(member_pk("m_1"), "PROFILE")) == "member_profile"
    assert record_kind(_record(member_pk("m_1"), "CONSENT#CURRENT")) == "consent"
    assert record_kind(_record(member_pk("m_1"), "POINTS#x")) is None  # a member's other items are no kind
    assert record_kind(_record("ORDER#o_1", "ORDER")) == "order"
    assert record_kind(_record("COUPON#c_1", "COUPON")) == "coupon"
    assert record_kind(_record("POSSALE#s1#x", "SALE")) == "pos_sale"
    assert record_kind(_record("POSRETURN#s1#r", "RETURN")) == "pos_return"
    assert record_kind(_record("APPT#a_1", "APPT")) == "appointment"
    assert record_kind(_record("VIEW#v", "VIEW")) == "view"
    assert record_kind(_record(campaign_pk("cp_1"), "CAMPAIGN")) is None
    assert record_kind({"dynamodb": {}}) is None and record_keys({}) == ("", "")


def test_labels_and_images():
    record = _record(member_pk("m_1"), "PROFILE", {"member_id": {"S": "m_1"}, "points": {"N": "3"}})
    assert record_label(record) == ("MEMBER", "PROFILE")  # no member id in a log line
    assert images(record) == ({}, {"member_id": "m_1", "points": 3})
