"""Login and the authorizer, through the routes the template declares."""

from __future__ import annotations

import time

import jwt

from local.cloud import ADMIN_OPENID, LOCAL_SECRETS


def test_login_returns_a_token_and_a_stable_member(client):
    first = client.post("/auth/login", {"code": "shopper-a"})
    assert first.status == 200
    body = first.json()
    assert set(body) == {"token", "expires_in", "member_id", "roles", "store_ids"}
    assert body["roles"] == ["member"] and body["store_ids"] == []
    assert body["expires_in"] > 0
    again = client.post("/auth/login", {"code": "shopper-a"}).json()
    assert again["member_id"] == body["member_id"]
    other = client.post("/auth/login", {"code": "shopper-b"}).json()
    assert other["member_id"] != body["member_id"]


def test_the_openid_never_reaches_the_client(client):
    resp = client.post("/auth/login", {"code": "admin"})
    assert ADMIN_OPENID not in resp.body.decode()
    claims = jwt.decode(resp.json()["token"], options={"verify_signature": False})
    assert ADMIN_OPENID not in str(claims)


def test_admin_openid_gets_the_admin_role(client):
    assert "admin" in client.post("/auth/login", {"code": "admin"}).json()["roles"]


def test_a_code_wechat_rejects_is_401_wechat_login_failed(client):
    resp = client.post("/auth/login", {"code": "bad-code"})
    assert resp.status == 401
    assert resp.json()["error"]["code"] == "WECHAT_LOGIN_FAILED"
    assert resp.json()["error"]["request_id"] == resp.request_id


def test_wechat_unreachable_is_503_with_the_envelope(client, wechat):
    wechat.down = True
    resp = client.post("/auth/login", {"code": "someone"})
    assert resp.status == 503
    assert resp.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"


def test_login_rejects_bad_bodies(client):
    cases = [
        client.request("POST", "/auth/login", raw=b"{not json"),
        client.post("/auth/login", {}),
        client.post("/auth/login", {"code": 123}),
        client.post("/auth/login", {"code": ""}),
        client.post("/auth/login", {"code": "x", "extra": 1}),
        client.post("/auth/login", ["code"]),
        client.post("/auth/login", [{"code": "unwrapped"}]),
        client.request("POST", "/auth/login", raw=b"\"code\""),
    ]
    for resp in cases:
        assert resp.status == 400, resp.body
        assert resp.json()["error"]["code"] == "VALIDATION_FAILED"
        assert resp.json()["error"]["details"]


def test_a_body_that_is_not_json_is_415(client):
    resp = client.request("POST", "/auth/login", raw=b"code=abc",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415 and resp.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    ok = client.request("POST", "/auth/login", raw=b'{"code": "abc"}',
                        headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status == 200


def _token(sub: str, exp_delta: int, key: str = LOCAL_SECRETS["TOKEN_SIGNING_KEY"], typ: str = "session") -> str:
    now = int(time.time())
    return jwt.encode({"typ": typ, "sub": sub, "iat": now, "exp": now + exp_delta, "roles": ["member"]}, key,
                      algorithm="HS256")


def test_the_authorizer_rejects_every_kind_of_bad_token(client):
    good = client.login("shopper-a")["token"]
    assert client.get("/stores", token=good, query={"city": "上海"}).status == 200
    bad = {
        "missing": None,
        "malformed": "not-a-jwt",
        "wrong signature": _token("m_x", 600, key="another-key-that-is-long-enough-to-sign-with"),
        "expired": _token("m_x", -10),
        "wrong type": _token("m_x", 600, typ="coupon_qr"),
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }
    for name, token in bad.items():
        resp = client.get("/stores", token=token, query={"city": "上海"})
        assert resp.status == 401, name
        assert resp.json()["error"]["code"] == "UNAUTHENTICATED", name
    resp = client.get("/stores", headers={"Authorization": "Basic abc"}, query={"city": "上海"})
    assert resp.status == 401


def test_unknown_routes_and_methods_get_the_envelope(client):
    resp = client.get("/no/such/route")
    assert resp.status == 404 and resp.json()["error"]["code"] == "NOT_FOUND"
    resp = client.request("DELETE", "/health")
    assert resp.status == 405 and resp.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert resp.headers["Allow"] == "GET"


def test_health_needs_no_token(client):
    resp = client.get("/health")
    assert resp.status == 200 and resp.json() == {"status": "ok"}


def test_staff_roles_are_in_the_next_login_token(client, actors):
    actors.store("s1")
    before = client.login("clerk-1")
    resp = client.post("/admin/staff", {"member_id": before["member_id"], "role": "clerk", "store_ids": ["s1"]},
                       token=actors.admin["token"])
    assert resp.status == 201
    assert resp.json() == {"member_id": before["member_id"], "role": "clerk", "store_ids": ["s1"],
                           "effective": "now"}
    after = client.login("clerk-1")
    assert after["roles"] == ["member", "staff"] and after["store_ids"] == ["s1"]
    claims = jwt.decode(after["token"], options={"verify_signature": False})
    assert claims["staff_role"] == "clerk"
