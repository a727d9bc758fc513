"""Issue 14's regression inputs, each through the routes: every one once answered 500 (or was accepted wrongly);
each must now be a 4xx with the error envelope (or, where the input is fine, the right answer)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta

import pytest

from local.apigw import ApiGateway
from local.server import ApiServer
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

JSON_ROUTES = [  # (method, path, who): a sample of every kind of JSON route
    ("POST", "/auth/login", None),
    ("POST", "/admin/stores", "admin"),
    ("POST", "/admin/coupon-templates", "admin"),
    ("POST", "/admin/campaigns", "admin"),
    ("POST", "/verifications", "admin"),
    ("POST", "/orders", "member"),
    ("POST", "/appointments", "member"),
    ("POST", "/me/consents", "member"),
    ("POST", "/orders/o_1/pickup", "admin"),
]


def envelope(resp, status, code=None):
    assert resp.status == status, (resp.status, resp.body)
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["request_id"] and body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def tokens(actors):
    return {"admin": actors.admin["token"], "member": actors.member()["token"], None: None}


def test_a_body_that_is_not_utf8_is_400_on_every_kind_of_json_route(client, tokens):
    for method, path, who in JSON_ROUTES:
        resp = client.request(method, path, raw=b'{"code":"\xff"}', token=tokens[who],
                              headers={"Content-Type": "application/json"})
        err = envelope(resp, 400, "VALIDATION_FAILED")
        assert "UTF-8" in err["message"], path


def test_json_nested_1000_deep_is_400_on_every_kind_of_json_route(client, tokens):
    raw = b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert len(raw) < 64 * 1024
    for method, path, who in JSON_ROUTES:
        envelope(client.request(method, path, raw=raw, token=tokens[who],
                                headers={"Content-Type": "application/json"}), 400, "VALIDATION_FAILED")


def test_numbers_past_the_limits_are_400(client, tokens):
    for number in ("9" * 5000, "-" + "1" * 4400, "1e400", "NaN", "Infinity", "1." + "0" * 5000):
        raw = b'{"name":"x","kind":"cash_off","amount_off_fen":' + number.encode() + b',"total_stock":1,' \
              b'"validity":{"type":"relative","days":7}}'
        envelope(client.request("POST", "/admin/coupon-templates", raw=raw, token=tokens["admin"],
                                headers={"Content-Type": "application/json"}), 400, "VALIDATION_FAILED")


def store_body(**fields):
    return {"store_id": "s1", "name": "Store", "city": "上海", "address": "1 Road", "lat": 31.23, "lng": 121.47,
            **fields}


def test_json_media_types_in_any_case_are_json_and_others_415(client, tokens):
    for n, content_type in enumerate(("APPLICATION/JSON", "Application/Json; charset=UTF-8",
                                      "application/json;charset=utf-8")):
        resp = client.request("POST", "/admin/stores", raw=json.dumps(store_body(store_id=f"s{n}")).encode(),
                              token=tokens["admin"], headers={"Content-Type": content_type})
        assert resp.status == 201, resp.body
    for content_type in ("application/vnd.api+json", "text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", "application/json; charset=latin-1"):
        resp = client.request("POST", "/admin/stores", raw=json.dumps(store_body(store_id="s9")).encode(),
                              token=tokens["admin"], headers={"Content-Type": content_type})
        envelope(resp, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_base64_body_from_the_gateway_is_decoded_once(client, tokens):
    """API Gateway passes binary-looking bodies base64-encoded: the same JSON must mean the same thing."""
    gateway: ApiGateway = client.gateway
    route, params, _ = gateway.match("POST", "/admin/stores")
    assert route is not None
    good = json.dumps(store_body(store_id="s64"), ensure_ascii=False).encode()
    import base64

    event = gateway.build_event(route, "POST", "/admin/stores", "", [("Content-Type", "application/json"),
                                ("Authorization", f"Bearer {tokens['admin']}")], good, params, "rid-1", "127.0.0.1")
    event["body"], event["isBase64Encoded"] = base64.b64encode(good).decode(), True
    assert gateway._authorize(route, event, "rid-1") is None
    result = gateway.cloud.invoke(route.function, event)
    assert result["statusCode"] == 201, result
    assert client.get("/stores/s64", token=tokens["admin"]).json()["name"] == "Store"


def test_a_get_with_a_body_ignores_it(client, tokens):
    resp = client.request("GET", "/me", raw=b"\xff\xfe not json", token=tokens["member"],
                          headers={"Content-Type": "text/plain"})
    assert resp.status == 200


# ---------------------------------------------------------------------------------------------- POS webhook


@pytest.fixture
def till(client, actors):
    actors.store("s1")
    return client.post("/admin/stores/s1/pos-secret", token=actors.admin["token"]).json()["secret"]


def pos(client, secret, body=None, *, raw=None, timestamp=None):
    raw = raw if raw is not None else json.dumps(body).encode()
    ts = timestamp if timestamp is not None else str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return client.request("POST", "/webhooks/pos/s1", raw=raw, headers={
        "Content-Type": "application/json", "X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})


def sale(**fields):
    return {"sale_id": "S-1", "total_fen": 5890, "items": [], "coupon_codes": [],
            "occurred_at": to_rfc3339(clock.now()), **fields}


def test_a_pos_timestamp_that_is_not_ascii_digits_is_401_and_a_bad_body_400(client, till):
    for timestamp in ("²", "١٢٣٤٥٦٧٨٩٠", "1e9", " 123", "-1", "0x10"):
        envelope(pos(client, till, sale(), timestamp=timestamp), 401, "UNAUTHENTICATED")
    envelope(pos(client, till, raw=b'{"sale_id":"\xff"}'), 400, "VALIDATION_FAILED")


def test_a_pos_sale_dated_outside_2000_to_2100_is_400_and_counts_nothing(client, till, actors):
    for occurred_at in ("1000-06-01T12:00:00+08:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+08:00",
                        "2101-01-01T00:00:00+08:00"):
        err = envelope(pos(client, till, sale(occurred_at=occurred_at)), 400, "VALIDATION_FAILED")
        assert err["details"][0]["field"] == "occurred_at"
    day = client.get("/admin/analytics/stores/s1", token=actors.admin["token"],
                     query={"from": "2026-01-01", "to": "2026-01-07"}).json()
    assert day["totals"]["orders"] == 0


# ---------------------------------------------------------------------------------------------- dates, places


FAR_DATES = ["0001-01-01T00:00:00+08:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
             "9999-12-31T23:59:59-12:00", "1999-12-31T23:59:59+08:00", "2101-01-01T00:00:00+08:00"]


def test_coupon_template_and_campaign_dates_outside_2000_to_2100_are_400(client, tokens):
    for when in FAR_DATES:
        for starts_at, ends_at in ((when, "2027-01-01T00:00:00+08:00"), ("2026-01-01T00:00:00+08:00", when)):
            body = {"name": "c", "kind": "cash_off", "amount_off_fen": 100, "total_stock": 1,
                    "validity": {"type": "fixed", "starts_at": starts_at, "ends_at": ends_at}}
            envelope(client.post("/admin/coupon-templates", body, token=tokens["admin"]), 400, "VALIDATION_FAILED")
            body = {"name": "c", "starts_at": starts_at, "ends_at": ends_at, "template_ids": ["t_1"]}
            envelope(client.post("/admin/campaigns", body, token=tokens["admin"]), 400, "VALIDATION_FAILED")


def test_analytics_slot_and_visit_dates_outside_2000_to_2100_are_400(client, tokens, actors):
    actors.store("s1")
    for query in ({"from": "0001-01-01"}, {"to": "0001-01-01"}, {"from": "9999-12-31"}, {"to": "9999-12-31"},
                  {"from": "9999-12-25", "to": "9999-12-31"}, {"from": "1999-12-31"}, {"to": "2101-01-01"}):
        envelope(client.get("/admin/analytics/stores/s1", token=tokens["admin"], query=query), 400,
                 "VALIDATION_FAILED")
    for day in ("0001-01-01", "9999-12-31"):
        envelope(client.get("/stores/s1/slots", token=tokens["member"], query={"date": day}), 400,
                 "VALIDATION_FAILED")
    for slot_start in ("0001-01-01T10:00:00+08:00", "9999-12-31T10:00:00+08:00"):
        envelope(client.post("/appointments", {"store_id": "s1", "slot_start": slot_start},
                             token=tokens["member"]), 400, "VALIDATION_FAILED")


def test_a_tiny_latitude_is_stored_rounded(client, tokens):
    resp = client.post("/admin/stores", store_body(lat=1e-200, lng=-1e-300), token=tokens["admin"])
    assert resp.status == 201, resp.body
    assert resp.json()["lat"] == 0.0 and resp.json()["lng"] == 0.0
    assert client.get("/stores/s1", token=tokens["member"]).json()["lat"] == 0.0


def test_a_latitude_off_the_globe_is_400(client, tokens):
    for lat in (91, -90.0000001, "NaN"):
        raw = json.dumps(store_body(lat=lat)).replace('"NaN"', "NaN").encode()
        envelope(client.request("POST", "/admin/stores", raw=raw, token=tokens["admin"],
                                headers={"Content-Type": "application/json"}), 400, "VALIDATION_FAILED")


# ---------------------------------------------------------------------------------------------- coupons at the till


@pytest.fixture
def coupon_of(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    clerk = actors.staff("clerk", "clerk", ["s1"])["token"]

    def make(**terms):
        t = client.post("/admin/coupon-templates", {"name": "c", "total_stock": 5, "validity": {
            "type": "relative", "days": 7}, **terms}, token=admin)
        assert t.status == 201, t.body
        start = clock.now() - timedelta(minutes=1)
        c = client.post("/admin/campaigns", {"name": "c", "starts_at": to_rfc3339(start),
                                             "ends_at": to_rfc3339(start + timedelta(days=1)),
                                             "template_ids": [t.json()["template_id"]]}, token=admin).json()
        assert client.post(f"/admin/campaigns/{c['campaign_id']}/publish", token=admin).status == 200
        claim = client.post(f"/campaigns/{c['campaign_id']}/claims", {"template_id": t.json()["template_id"]},
                            token=actors.member()["token"])
        return claim.json()["coupon"]["code"], clerk

    return make


def test_a_cash_off_coupon_without_the_bill_is_400_not_its_face_value(client, coupon_of):
    code, clerk = coupon_of(kind="cash_off", amount_off_fen=100_000_000)  # ¥1,000,000
    err = envelope(client.post("/verifications", {"code": code, "store_id": "s1"}, token=clerk), 400,
                   "VALIDATION_FAILED")
    assert err["details"][0]["field"] == "spend_fen"
    done = client.post("/verifications", {"code": code, "store_id": "s1", "spend_fen": 3200}, token=clerk)
    assert done.status == 201 and done.json()["discount_fen"] == 3200  # capped at the bill


@pytest.mark.parametrize("terms", [{"kind": "percent_off", "percent_off": 99},
                                   {"kind": "cash_off", "amount_off_fen": 500}])
def test_a_money_off_coupon_on_an_empty_bill_is_400(client, coupon_of, terms):
    code, clerk = coupon_of(**terms)
    err = envelope(client.post("/verifications", {"code": code, "store_id": "s1", "spend_fen": 0}, token=clerk),
                   400, "VALIDATION_FAILED")
    assert err["details"][0]["field"] == "spend_fen"
    assert client.post("/verifications", {"code": code, "store_id": "s1", "spend_fen": 1000},
                       token=clerk).status == 201  # still active: nothing was burnt


def test_a_gift_coupon_needs_no_bill(client, coupon_of):
    code, clerk = coupon_of(kind="gift", gift_sku="SKU-COOKIE")
    done = client.post("/verifications", {"code": code, "store_id": "s1"}, token=clerk)
    assert done.status == 201 and done.json()["discount_fen"] == 0


# ---------------------------------------------------------------------------------------------- methods, HTTP


def test_other_methods_are_405_with_the_envelope_through_the_gateway(client):
    for method in ("TRACE", "CONNECT", "PROPFIND", "PUT", "PATCH"):
        resp = client.request(method, "/health")
        envelope(resp, 405, "METHOD_NOT_ALLOWED")
        assert "GET" in resp.headers["Allow"]


@pytest.fixture
def http_server(client):
    server = ApiServer(client.gateway, "127.0.0.1", 0).start()
    yield server
    server.stop()


def raw_http(server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        while len(body) < int(headers.get("Content-Length", "0")):
            body += sock.recv(65536)
        return int(lines[0].split()[1]), headers, body


def test_the_local_server_answers_unknown_methods_405_and_bad_lengths_400_in_json(http_server):
    for method in ("TRACE", "CONNECT", "PROPFIND"):
        status, headers, body = raw_http(http_server, f"{method} /health HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status == 405 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "METHOD_NOT_ALLOWED"
    for length in ("abc", "-5", "²"):
        request = f"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
        status, _, body = raw_http(http_server, request)
        assert status == 400 and json.loads(body)["error"]["code"] == "VALIDATION_FAILED"


def test_the_served_document_names_the_running_server(http_server):
    http_server.openapi = {"openapi": "3.1.0", "servers": [{"url": "http://127.0.0.1:3000"}], "paths": {}}
    status, _, body = raw_http(http_server, b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and json.loads(body)["servers"][0]["url"] == http_server.base_url


# ---------------------------------------------------------------------------------------------- the document


def test_the_document_lists_what_each_operation_answers(cloud):
    from local.openapi import build_openapi

    doc = build_openapi(cloud, "http://127.0.0.1:4321")
    assert doc["servers"][0]["url"] == "http://127.0.0.1:4321"
    schemas = doc["components"]["schemas"]
    assert "ErrorEnvelope" in schemas and "HTTPValidationError" not in schemas
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert "422" not in responses and "500" not in responses, (method, path)
            assert "429" in responses and "Retry-After" in responses["429"]["headers"], (method, path)
            if op.get("security"):
                assert {"401", "403"} <= set(responses), (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for p in op.get("parameters", []):
                if p["name"] == "Idempotency-Key":
                    assert p["schema"]["maxLength"] == 128 and "IDEMPOTENCY_KEY_REUSED" in responses["409"][
                        "description"]
                if p["name"] == "limit":
                    assert p["schema"]["maximum"] == 100
                if p["name"] == "cursor":
                    schema = p["schema"].get("anyOf", [p["schema"]])[0]
                    assert schema["maxLength"] <= 2048
    verify = doc["paths"]["/verifications"]["post"]["responses"]
    assert "COUPON_ALREADY_REDEEMED" in verify["409"]["description"] and "415" in verify
    assert verify["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
    pos = doc["paths"]["/webhooks/pos/{store_id}"]["post"]
    assert {p["name"] for p in pos["parameters"]} >= {"X-StoreLoop-Timestamp", "X-StoreLoop-Signature"}
    assert pos["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PosSaleRequest"}
    occurred = schemas["PosSaleRequest"]["properties"]["occurred_at"]
    assert occurred["format"] == "date-time" and "2100" in occurred["pattern"]
    pay = doc["paths"]["/webhooks/wechatpay"]["post"]
    assert {p["name"] for p in pay["parameters"]} >= {"Wechatpay-Serial", "Wechatpay-Signature"}
    assert pay["responses"]["401"]["content"]["application/json"]["schema"]["properties"]["code"]["enum"] == ["FAIL"]
    assert "content" not in pay["responses"]["200"]
