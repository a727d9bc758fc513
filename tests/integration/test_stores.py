"""Stores and staff through the routes: create, nearest first, one store, staff, POS secret, bad input."""

from __future__ import annotations

import boto3
import pytest

from local.cloud import REGION

STORE = {"store_id": "sh-1", "name": "静安店", "city": "上海", "address": "南京西路 1 号", "lat": 31.2292,
         "lng": 121.4510, "open_time": "10:00", "close_time": "22:00", "slot_minutes": 30, "slot_capacity": 4}


def items(cloud):
    table = cloud.ref("MainTable")
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]  # test-only inspection


def test_admin_creates_a_store_and_members_read_it(client, actors):
    resp = client.post("/admin/stores", STORE, token=actors.admin["token"])
    assert resp.status == 201
    assert resp.json() == STORE | {"distance_m": None}
    shopper = actors.member()["token"]
    got = client.get("/stores/sh-1", token=shopper)
    assert got.status == 200 and got.json()["name"] == "静安店"
    assert "静安店" in got.body.decode()  # UTF-8 on the wire, not \\u escapes


def test_a_duplicate_store_id_is_409(client, actors):
    assert client.post("/admin/stores", STORE, token=actors.admin["token"]).status == 201
    resp = client.post("/admin/stores", STORE | {"name": "again"}, token=actors.admin["token"])
    assert resp.status == 409 and resp.json()["error"]["code"] == "STORE_EXISTS"


def test_only_admins_manage_stores(client, actors):
    shopper = actors.member()["token"]
    for path, body in (("/admin/stores", STORE), ("/admin/staff", {"member_id": "m_x", "role": "clerk",
                                                                   "store_ids": ["a"]}),
                       ("/admin/stores/sh-1/pos-secret", None)):
        resp = client.post(path, body, token=shopper)
        assert resp.status == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
    resp = client.post("/admin/stores", {"store_id": "x"}, token=shopper)
    assert resp.status == 403  # refused before validation: a shopper learns nothing of the schema


@pytest.mark.parametrize("change, field", [
    ({"lat": 91}, "lat"), ({"lat": -90.5}, "lat"), ({"lng": 181}, "lng"), ({"lat": "north"}, "lat"),
    ({"open_time": "25:00"}, "open_time"), ({"close_time": "9pm"}, "close_time"),
    ({"close_time": "09:00"}, "body"), ({"slot_minutes": 0}, "slot_minutes"),
    ({"slot_capacity": -1}, "slot_capacity"), ({"store_id": "has space"}, "store_id"),
    ({"name": ""}, "name"), ({"colour": "red"}, "colour"), ({"store_id": None}, "store_id"),
])
def test_bad_store_fields_are_named_and_nothing_is_written(client, actors, cloud, change, field):
    body = {k: v for k, v in (STORE | change).items() if v is not None or k != "store_id"}
    if change.get("store_id", "") is None:
        body.pop("store_id", None)
    token = actors.admin["token"]
    before = len(items(cloud))
    resp = client.post("/admin/stores", body, token=token)
    assert resp.status == 400
    err = resp.json()["error"]
    assert err["code"] == "VALIDATION_FAILED"
    assert any(d["field"] == field for d in err["details"]), err["details"]
    assert len(items(cloud)) == before


def test_malformed_and_oversized_bodies(client, actors):
    token = actors.admin["token"]
    resp = client.request("POST", "/admin/stores", raw=b'{"store_id": ', token=token,
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json()["error"]["code"] == "VALIDATION_FAILED"
    huge = STORE | {"address": "x" * 70_000}
    resp = client.post("/admin/stores", huge, token=token)
    assert resp.status == 413 and resp.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_store_is_404(client, actors):
    resp = client.get("/stores/nope", token=actors.member()["token"])
    assert resp.status == 404 and resp.json()["error"]["code"] == "NOT_FOUND"


def test_nearest_stores_first_with_distance(client, actors):
    admin = actors.admin["token"]
    spots = {"near": (31.2300, 121.4740), "mid": (31.2000, 121.4400), "far": (30.2590, 120.1650),
             "beijing": (39.9042, 116.4074)}
    for sid, (lat, lng) in spots.items():
        assert client.post("/admin/stores", STORE | {"store_id": sid, "lat": lat, "lng": lng,
                                                     "city": "北京" if sid == "beijing" else "上海"},
                           token=admin).status == 201
    shopper = actors.member()["token"]
    resp = client.get("/stores", token=shopper, query={"lat": 31.2304, "lng": 121.4737, "limit": 3})
    assert resp.status == 200
    got = resp.json()["items"]
    assert [s["store_id"] for s in got] == ["near", "mid", "far"]
    assert got[0]["distance_m"] < 100
    assert 3_000 < got[1]["distance_m"] < 6_000
    assert 150_000 < got[2]["distance_m"] < 190_000
    assert resp.json()["next"] is None
    city = client.get("/stores", token=shopper, query={"city": "北京"}).json()["items"]
    assert [s["store_id"] for s in city] == ["beijing"]


@pytest.mark.parametrize("query", [{"lat": 31.2}, {"lng": 121.4}, {}, {"lat": 95, "lng": 121},
                                   {"lat": 31, "lng": -181}, {"lat": "x", "lng": 1},
                                   {"lat": 31, "lng": 121, "limit": 0}, {"lat": 31, "lng": 121, "limit": 101}])
def test_bad_store_queries_are_400(client, actors, query):
    resp = client.get("/stores", token=actors.member()["token"], query=query)
    assert resp.status == 400 and resp.json()["error"]["code"] == "VALIDATION_FAILED"


def test_staff_assignment_checks_member_and_stores(client, actors):
    admin = actors.admin["token"]
    actors.store("s1")
    clerk = actors.member("clerk-x")
    resp = client.post("/admin/staff", {"member_id": clerk["member_id"], "role": "clerk",
                                        "store_ids": ["s1", "nope"]}, token=admin)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "store_ids"
    resp = client.post("/admin/staff", {"member_id": "m_missing", "role": "clerk", "store_ids": ["s1"]},
                       token=admin)
    assert resp.status == 404
    resp = client.post("/admin/staff", {"member_id": clerk["member_id"], "role": "boss", "store_ids": ["s1"]},
                       token=admin)
    assert resp.status == 400
    resp = client.post("/admin/staff", {"member_id": clerk["member_id"], "role": "clerk", "store_ids": []},
                       token=admin)
    assert resp.status == 400


def test_pos_secret_is_shown_once_and_kept_encrypted(client, actors, cloud):
    actors.store("s1")
    resp = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"])
    assert resp.status == 201
    secret = resp.json()["secret"]
    assert len(secret) >= 32
    stored = str(items(cloud))
    assert secret not in stored and "pos_secret_enc" in stored
    from storeloop.services.stores import pos_secret
    from storeloop.settings import get_settings

    assert pos_secret(get_settings(), "s1") == secret
    rotated = client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]
    assert rotated != secret and pos_secret(get_settings(), "s1") == rotated
    assert client.post("/admin/stores/nope/pos-secret", token=actors.admin["token"]).status == 404


def test_idempotency_key_replays_the_first_answer(client, actors, cloud):
    admin = actors.admin["token"]
    key = {"Idempotency-Key": "create-sh-1"}
    first = client.post("/admin/stores", STORE, token=admin, headers=key)
    again = client.post("/admin/stores", STORE, token=admin, headers=key)
    assert first.status == again.status == 201
    assert first.json() == again.json()
    other = client.post("/admin/stores", STORE | {"name": "changed"}, token=admin, headers=key)
    assert other.status == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    # Without the key the same body is a new request: the store exists now.
    assert client.post("/admin/stores", STORE, token=admin).status == 409
