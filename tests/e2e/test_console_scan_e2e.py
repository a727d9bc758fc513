"""The console's local sign-in over HTTP, as `make run` serves it: a ticket, the demo scan on the WeChat fake,
the poll's one-time token, and the store views a demo clerk then sees (their store only)."""

from __future__ import annotations


def _scan_in(local_cloud, code: str) -> dict:
    http, wechat = local_cloud["http"], local_cloud["wechat"]
    status, ticket, _ = http.call("POST", "/auth/console-tickets")
    assert status == 201 and ticket["qr_image"].startswith("data:image/png;base64,"), ticket
    assert http.call("GET", f"/auth/console-tickets/{ticket['ticket']}")[1]["status"] == "pending"
    status, scanned, _ = wechat.call("POST", "/_sim/console-scan", {"scene": ticket["scene"], "code": code})
    assert status == 200 and scanned["approved"] is True, scanned
    status, polled, _ = http.call("GET", f"/auth/console-tickets/{ticket['ticket']}")
    assert status == 200 and polled["status"] == "approved" and polled["token"], polled
    assert http.call("GET", f"/auth/console-tickets/{ticket['ticket']}")[1] == {"status": "consumed"}
    return polled


def test_admin_signs_in_by_the_local_scan(local_cloud) -> None:
    session = _scan_in(local_cloud, "admin")
    assert "admin" in session["roles"]
    status, listed, _ = local_cloud["http"].call("GET", "/admin/campaigns", token=session["token"])
    assert status == 200 and "items" in listed


def test_a_demo_clerk_sees_only_their_store(local_cloud) -> None:
    session = _scan_in(local_cloud, "demo-clerk")
    assert session["roles"] == ["member", "staff"] and session["store_ids"] == ["sh-jingan"]
    http = local_cloud["http"]
    assert http.call("GET", "/stores/sh-jingan/appointments", token=session["token"])[0] == 200
    assert http.call("GET", "/stores/sh-xintiandi/appointments", token=session["token"])[0] == 403
    assert http.call("GET", "/admin/campaigns", token=session["token"])[0] == 403


def test_a_shopper_cannot_approve_by_the_local_scan(local_cloud) -> None:
    http, wechat = local_cloud["http"], local_cloud["wechat"]
    ticket = http.call("POST", "/auth/console-tickets")[1]
    status, body, _ = wechat.call("POST", "/_sim/console-scan", {"scene": ticket["scene"], "code": "demo-shopper"})
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    assert http.call("GET", f"/auth/console-tickets/{ticket['ticket']}")[1]["status"] == "pending"
