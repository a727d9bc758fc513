"""Console login by scanning (扫码登录) through the routes: ticket, confirm screen, approval, the one-time token."""

from __future__ import annotations

import base64
import time
import types
from typing import Any

import pytest

from local.testing import ok
from storeloop.services import console_login

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def codes(wechat: Any, msg: Any) -> Any:
    wechat.wxacode.reset()
    yield wechat.wxacode
    wechat.wxacode.reset()


def _ticket(client: Any) -> dict[str, Any]:
    return ok(client.post("/auth/console-tickets", headers={"User-Agent": "Mozilla/5.0 console-test"}), 201)


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    start = time.time()
    monkeypatch.setattr(console_login, "time", types.SimpleNamespace(time=lambda: start + seconds))


def test_ticket_shows_only_the_scene_and_a_real_code(client, codes) -> None:
    t = _ticket(client)
    assert t["expires_in"] == 120
    assert t["scene"].startswith("cl_") and len(t["scene"]) <= 32
    assert t["ticket"].startswith(t["scene"] + ".") and len(t["ticket"]) > len(t["scene"]) + 40
    assert t["qr_image"].startswith("data:image/png;base64,")
    assert base64.b64decode(t["qr_image"].split(",", 1)[1]).startswith(PNG)
    assert codes.calls == [{"scene": t["scene"], "page": console_login.APPROVE_PAGE}]  # the secret is not in it
    polled = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert polled["status"] == "pending" and 0 < polled["expires_in"] <= 120 and not polled.get("token")


def test_admin_scans_approves_and_the_poll_gets_the_token_once(client, actors, codes) -> None:
    t = _ticket(client)
    admin = actors.admin
    seen = ok(client.get(f"/auth/console-scenes/{t['scene']}", token=admin["token"]))
    assert seen["requested_by"]["user_agent"] == "Mozilla/5.0 console-test"
    assert seen["requested_by"]["ip"] and 0 < seen["expires_in"] <= 120 and seen["status"] == "pending"
    approved = ok(client.post(f"/auth/console-scenes/{t['scene']}/approve", token=admin["token"]))
    assert approved["status"] == "approved" and approved["member_id"] == admin["member_id"]

    first = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert first["status"] == "approved" and first["token"] and first["member_id"] == admin["member_id"]
    assert "admin" in first["roles"] and first["expires_in"] == 7200
    # the console token works like a login token, admin routes included
    assert client.get("/me", token=first["token"]).status == 200
    assert client.post("/admin/stores", {}, token=first["token"]).status == 400  # past the admin check
    again = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert again["status"] == "consumed" and not again.get("token")
    # replaying the approval, or approving a used ticket
    replay = client.post(f"/auth/console-scenes/{t['scene']}/approve", token=admin["token"])
    assert replay.status == 409 and replay.json()["error"]["code"] == "TICKET_NOT_PENDING"
    assert client.get(f"/auth/console-scenes/{t['scene']}", token=admin["token"]).status == 409


def test_staff_session_carries_their_stores(client, actors, codes) -> None:
    actors.store("s1")
    clerk = actors.staff("clerk-1", "clerk", ["s1"])
    t = _ticket(client)
    ok(client.post(f"/auth/console-scenes/{t['scene']}/approve", token=clerk["token"]))
    got = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert got["roles"] == ["member", "staff"] and got["store_ids"] == ["s1"]


def test_a_plain_member_cannot_approve(client, actors, codes) -> None:
    t = _ticket(client)
    shopper = actors.member("shopper-console")
    for resp in (client.get(f"/auth/console-scenes/{t['scene']}", token=shopper["token"]),
                 client.post(f"/auth/console-scenes/{t['scene']}/approve", token=shopper["token"])):
        assert resp.status == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
    assert ok(client.get(f"/auth/console-tickets/{t['ticket']}"))["status"] == "pending"
    assert client.post(f"/auth/console-scenes/{t['scene']}/approve").status == 401  # no token at all


def test_unknown_scene_and_ticket_are_404(client, actors, codes) -> None:
    t = _ticket(client)
    admin = actors.admin["token"]
    assert client.post("/auth/console-scenes/cl_nosuchscene/approve", token=admin).status == 404
    assert client.get("/auth/console-scenes/cl_nosuchscene", token=admin).status == 404
    assert client.get("/auth/console-tickets/cl_nosuchscene.secret").status == 404
    assert client.get(f"/auth/console-tickets/{t['scene']}").status == 404  # the scene alone is not the ticket
    assert client.get(f"/auth/console-tickets/{t['scene']}.wrong-secret").status == 404
    assert client.get("/auth/console-tickets/garbage").status == 404


def test_tickets_expire_after_120_s(client, actors, codes, monkeypatch) -> None:
    t = _ticket(client)
    _later(monkeypatch, 121)
    resp = client.post(f"/auth/console-scenes/{t['scene']}/approve", token=actors.admin["token"])
    assert resp.status == 409 and resp.json()["error"]["code"] == "TICKET_NOT_PENDING"
    got = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert got["status"] == "expired" and not got.get("token")


def test_an_approved_ticket_not_collected_in_time_expires(client, actors, codes, monkeypatch) -> None:
    t = _ticket(client)
    ok(client.post(f"/auth/console-scenes/{t['scene']}/approve", token=actors.admin["token"]))
    _later(monkeypatch, 125)
    got = ok(client.get(f"/auth/console-tickets/{t['ticket']}"))
    assert got["status"] == "expired" and not got.get("token")


def test_ticket_item_keeps_only_the_secret_hash(client, cloud, codes) -> None:
    t = _ticket(client)
    from storeloop.data import console_tickets

    item = console_tickets.get(t["scene"])
    secret = t["ticket"].split(".", 1)[1]
    assert item is not None and secret not in str(item.attribute_values)
    assert int(item.expires_at) > int(item.valid_until)  # TTL set, after the validity


def test_local_scan_on_the_wechat_fake_signs_in_a_demo_login(client, wechat, codes) -> None:
    import json
    import urllib.error
    import urllib.request

    def api(method: str, path: str, body: Any, token: str | None) -> tuple[int, Any]:
        resp = client.request(method, path, json_body=body, token=token)
        return resp.status, resp.json()

    def scan(body: dict[str, Any]) -> tuple[int, Any]:
        req = urllib.request.Request(wechat.base_url + "/_sim/console-scan", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    wechat.console.api = api
    try:
        t = _ticket(client)
        status, body = scan({"scene": t["scene"], "code": "admin"})
        assert status == 200 and body["approved"] is True and "admin" in body["roles"]
        assert ok(client.get(f"/auth/console-tickets/{t['ticket']}"))["token"]
        assert scan({"scene": t["scene"], "code": "admin"})[1]["error"]["code"] == "TICKET_NOT_PENDING"
        other = _ticket(client)
        status, body = scan({"scene": other["scene"], "code": "a-shopper"})
        assert status == 403 and body["error"]["code"] == "FORBIDDEN"
        assert scan({"scene": other["scene"], "code": "bad-code"})[0] == 401
        assert scan({"scene": other["scene"]})[0] == 400
    finally:
        wechat.console.api = None
