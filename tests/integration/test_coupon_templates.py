"""Coupon templates through the routes: each kind, its stock shards, every invalid field named, admins only."""

from __future__ import annotations

import copy
from datetime import timedelta

import boto3

from local.cloud import REGION
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.domain.coupons import split_stock, stock_shard_count


def error(resp):
    return resp.json()["error"]["code"]


def table_items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]


def fixed(days_from_now=0, days=30):
    start = clock.now() + timedelta(days=days_from_now)
    return {"type": "fixed", "starts_at": to_rfc3339(start), "ends_at": to_rfc3339(start + timedelta(days=days))}


CASH = {"name": "¥20 off over ¥100", "kind": "cash_off", "amount_off_fen": 2000, "min_spend_fen": 10000,
        "total_stock": 500, "per_member_limit": 2, "validity": {"type": "relative", "days": 7},
        "channels": ["store", "online"], "store_ids": []}


def test_cash_off_template_with_defaults_and_its_stock_shards(client, admin, cloud):
    body = {"name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 2500,
            "validity": {"type": "relative", "days": 7}}
    resp = client.post("/admin/coupon-templates", body, token=admin)
    assert resp.status == 201, resp.body
    t = resp.json()
    assert t["template_id"].startswith("t_") and t["remaining"] == 2500 and t["total_stock"] == 2500
    assert (t["min_spend_fen"], t["per_member_limit"], t["channels"], t["store_ids"]) == (0, 1, ["store", "online"], [])
    assert "percent_off" not in t and "gift_sku" not in t
    shards = {i["PK"]["S"]: int(i["remaining"]["N"]) for i in table_items(cloud)
              if i["PK"]["S"].startswith(f"STOCK#{t['template_id']}#")}
    assert len(shards) == stock_shard_count(2500) == 20
    assert sorted(shards.values(), reverse=True) == split_stock(2500, 20) and sum(shards.values()) == 2500


def test_percent_off_with_cap_and_gift_with_fixed_window(client, admin, actors):
    actors.store("s1")
    actors.store("s2")
    resp = client.post("/admin/coupon-templates", {
        "name": "15% off", "kind": "percent_off", "percent_off": 15, "max_off_fen": 3000, "total_stock": 50,
        "validity": {"type": "relative", "days": 365}, "channels": ["online"], "store_ids": ["s1", "s2"]}, token=admin)
    assert resp.status == 201, resp.body
    t = resp.json()
    assert (t["kind"], t["percent_off"], t["max_off_fen"], t["store_ids"]) == ("percent_off", 15, 3000, ["s1", "s2"])
    window = fixed(1)
    resp = client.post("/admin/coupon-templates", {"name": "A cookie", "kind": "gift", "gift_sku": "SKU-COOKIE",
                                                   "total_stock": 10, "validity": window}, token=admin)
    assert resp.status == 201, resp.body
    assert resp.json()["validity"] == window and resp.json()["gift_sku"] == "SKU-COOKIE"


def test_times_in_any_offset_are_kept_in_shanghai_time(client, admin):
    body = {**CASH, "validity": {"type": "fixed", "starts_at": "2099-01-01T00:00:00Z",
                                 "ends_at": "2099-02-01T00:00:00.5-05:00"}}
    resp = client.post("/admin/coupon-templates", body, token=admin)
    assert resp.status == 201, resp.body
    assert resp.json()["validity"] == {"type": "fixed", "starts_at": "2099-01-01T08:00:00+08:00",
                                       "ends_at": "2099-02-01T13:00:00+08:00"}


def _with(**changes):
    body = copy.deepcopy(CASH)
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


BAD = [
    ("name missing", _with(name=...), "name"),
    ("name empty", _with(name=""), "name"),
    ("name too long", _with(name="x" * 101), "name"),
    ("name a number", _with(name=5), "name"),
    ("kind unknown", _with(kind="buy_one_get_one"), "kind"),
    ("cash_off without amount", _with(amount_off_fen=...), "amount_off_fen"),
    ("amount as a string", _with(amount_off_fen="2000"), "amount_off_fen"),
    ("amount as a float", _with(amount_off_fen=20.5), "amount_off_fen"),
    ("amount as a bool", _with(amount_off_fen=True), "amount_off_fen"),
    ("amount zero", _with(amount_off_fen=0), "amount_off_fen"),
    ("amount negative", _with(amount_off_fen=-100), "amount_off_fen"),
    ("percent on a cash coupon", _with(percent_off=10), "percent_off"),
    ("cap on a cash coupon", _with(max_off_fen=100), "max_off_fen"),
    ("gift sku on a cash coupon", _with(gift_sku="SKU-1"), "gift_sku"),
    ("percent_off without percent", _with(kind="percent_off", amount_off_fen=...), "percent_off"),
    ("percent 0", _with(kind="percent_off", amount_off_fen=..., percent_off=0), "percent_off"),
    ("percent 100", _with(kind="percent_off", amount_off_fen=..., percent_off=100), "percent_off"),
    ("percent with an amount", _with(kind="percent_off", percent_off=10), "amount_off_fen"),
    ("cap zero", _with(kind="percent_off", amount_off_fen=..., percent_off=10, max_off_fen=0), "max_off_fen"),
    ("gift without sku", _with(kind="gift", amount_off_fen=...), "gift_sku"),
    ("gift sku with spaces inside", _with(kind="gift", amount_off_fen=..., gift_sku="a b"), "gift_sku"),
    ("min spend negative", _with(min_spend_fen=-1), "min_spend_fen"),
    ("min spend null", _with(min_spend_fen=None), "min_spend_fen"),
    ("stock missing", _with(total_stock=...), "total_stock"),
    ("stock zero", _with(total_stock=0), "total_stock"),
    ("stock huge", _with(total_stock=10**12), "total_stock"),
    ("stock as a string", _with(total_stock="500"), "total_stock"),
    ("limit zero", _with(per_member_limit=0), "per_member_limit"),
    ("validity missing", _with(validity=...), "validity"),
    ("validity type unknown", _with(validity={"type": "forever"}), "validity"),
    ("validity a string", _with(validity="7 days"), "validity"),
    ("relative days 0", _with(validity={"type": "relative", "days": 0}), "validity.relative.days"),
    ("relative days 366", _with(validity={"type": "relative", "days": 366}), "validity.relative.days"),
    ("relative days missing", _with(validity={"type": "relative"}), "validity.relative.days"),
    ("fixed ends before start", _with(validity={"type": "fixed", "starts_at": "2099-01-02T00:00:00+08:00",
                                                "ends_at": "2099-01-01T00:00:00+08:00"}), "validity.fixed.ends_at"),
    ("fixed naive time", _with(validity={"type": "fixed", "starts_at": "2099-01-01T00:00:00",
                                         "ends_at": "2099-01-02T00:00:00+08:00"}), "validity.fixed.starts_at"),
    ("fixed date only", _with(validity={"type": "fixed", "starts_at": "2099-01-01",
                                        "ends_at": "2099-01-02T00:00:00+08:00"}), "validity.fixed.starts_at"),
    ("fixed month 13", _with(validity={"type": "fixed", "starts_at": "2099-13-01T00:00:00+08:00",
                                       "ends_at": "2099-01-02T00:00:00+08:00"}), "validity.fixed.starts_at"),
    ("fixed with days", _with(validity={"type": "fixed", "starts_at": "2099-01-01T00:00:00+08:00",
                                        "ends_at": "2099-01-02T00:00:00+08:00", "days": 3}), "validity.fixed.days"),
    ("channels empty", _with(channels=[]), "channels"),
    ("channel unknown", _with(channels=["mail"]), "channels.0"),
    ("channel twice", _with(channels=["store", "store"]), "channels"),
    ("store_ids a string", _with(store_ids="s1"), "store_ids"),
    ("store id malformed", _with(store_ids=["s 1"]), "store_ids.0"),
    ("store id twice", _with(store_ids=["s1", "s1"]), "store_ids"),
    ("store unknown", _with(store_ids=["s1", "nowhere"]), "store_ids"),
    ("unknown field", _with(stackable=True), "stackable"),
    ("body an empty list", [], "body"),
    ("body a string", "cash_off", "body"),
]


def test_every_invalid_field_is_named_and_nothing_is_written(client, admin, actors, cloud):
    actors.store("s1")
    before = len(table_items(cloud))
    for label, body, field in BAD:
        resp = client.post("/admin/coupon-templates", body, token=admin)
        assert resp.status == 400 and error(resp) == "VALIDATION_FAILED", (label, resp.body)
        fields = {d["field"] for d in resp.json()["error"]["details"]}
        assert field in fields, (label, fields)
    # A fixed window that is already over is refused too (it could never be used).
    resp = client.post("/admin/coupon-templates", _with(validity=fixed(-10, 5)), token=admin)
    assert resp.status == 400 and {d["field"] for d in resp.json()["error"]["details"]} == {"validity.ends_at"}
    resp = client.request("POST", "/admin/coupon-templates", raw=b"{not json", token=admin,
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400 and error(resp) == "VALIDATION_FAILED"
    assert len(table_items(cloud)) == before


def test_several_errors_are_reported_together(client, admin):
    resp = client.post("/admin/coupon-templates", _with(name="", total_stock=0, channels=[]), token=admin)
    assert resp.status == 400
    assert {"name", "total_stock", "channels"} <= {d["field"] for d in resp.json()["error"]["details"]}


def test_admins_only(client, actors, admin, cloud):
    actors.store("s1")
    for who in (actors.member(), actors.staff("mgr", "manager", ["s1"])):
        resp = client.post("/admin/coupon-templates", CASH, token=who["token"])
        assert resp.status == 403 and error(resp) == "FORBIDDEN"
    # Refused before validation: a non-admin learns nothing about the body's shape.
    resp = client.post("/admin/coupon-templates", {"junk": 1}, token=actors.member()["token"])
    assert resp.status == 403
    assert client.post("/admin/coupon-templates", CASH).status == 401
    assert not [i for i in table_items(cloud) if i["PK"]["S"].startswith(("TEMPLATE#", "STOCK#"))]


def test_idempotency_key(client, admin, cloud):
    first = client.post("/admin/coupon-templates", CASH, token=admin, headers={"Idempotency-Key": "tpl-1"})
    again = client.post("/admin/coupon-templates", CASH, token=admin, headers={"Idempotency-Key": "tpl-1"})
    assert first.status == again.status == 201 and first.json() == again.json()
    assert sum(1 for i in table_items(cloud) if i["PK"]["S"].startswith("TEMPLATE#")) == 1
    other = client.post("/admin/coupon-templates", {**CASH, "total_stock": 7}, token=admin,
                        headers={"Idempotency-Key": "tpl-1"})
    assert other.status == 409 and error(other) == "IDEMPOTENCY_KEY_REUSED"
    bad_key = client.post("/admin/coupon-templates", CASH, token=admin, headers={"Idempotency-Key": "x" * 200})
    assert bad_key.status == 400 and error(bad_key) == "VALIDATION_FAILED"
