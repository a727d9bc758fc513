"""Staff lists and revocation through the routes: a revoked clerk's old token loses the staff role at once."""

from __future__ import annotations

from typing import Any

from local.testing import ok

NO_COUPON = "000000000000"


def _verify(client: Any, token: str, store_id: str = "s1") -> Any:
    return client.post("/verifications", {"code": NO_COUPON, "store_id": store_id}, token=token)


def test_assigning_takes_effect_on_the_token_already_held(client, actors) -> None:
    actors.store("s1")
    before = client.login("clerk-now")
    assert _verify(client, before["token"]).json()["error"]["code"] == "NOT_STORE_STAFF"
    body = ok(client.post("/admin/staff", {"member_id": before["member_id"], "role": "clerk", "store_ids": ["s1"]},
                          token=actors.admin["token"]), 201)
    assert body["effective"] == "now"
    assert _verify(client, before["token"]).json()["error"]["code"] == "COUPON_NOT_FOUND"  # past the staff check


def test_revoked_staff_are_refused_with_their_old_token(client, actors) -> None:
    actors.store("s1")
    clerk = actors.staff("clerk-rev", "clerk", ["s1"])
    assert _verify(client, clerk["token"]).json()["error"]["code"] == "COUPON_NOT_FOUND"
    revoked = ok(client.delete(f"/admin/staff/{clerk['member_id']}", token=actors.admin["token"]))
    assert revoked == {"member_id": clerk["member_id"], "role": None, "store_ids": [], "revoked_store_ids": ["s1"]}
    resp = _verify(client, clerk["token"])
    assert resp.status == 403 and resp.json()["error"]["code"] == "NOT_STORE_STAFF"
    assert ok(client.get("/me", token=clerk["token"]))["member_id"] == clerk["member_id"]  # still a member
    # a fresh login gives no staff role either, and the lists no longer hold them
    assert client.login("clerk-rev")["roles"] == ["member"]
    assert ok(client.get("/admin/staff", token=actors.admin["token"]))["items"] == []
    assert ok(client.get("/admin/staff", query={"store_id": "s1"}, token=actors.admin["token"]))["items"] == []
    # revoking again answers the same; an unknown member is 404
    again = ok(client.delete(f"/admin/staff/{clerk['member_id']}", token=actors.admin["token"]))
    assert again["role"] is None and again["revoked_store_ids"] == []
    assert client.delete("/admin/staff/m_nobody", token=actors.admin["token"]).status == 404


def test_revoked_staff_cannot_approve_a_console_login(client, actors, wechat, msg) -> None:
    actors.store("s1")
    manager = actors.staff("mgr-rev", "manager", ["s1"])
    ok(client.delete(f"/admin/staff/{manager['member_id']}", token=actors.admin["token"]))
    ticket = ok(client.post("/auth/console-tickets"), 201)
    resp = client.post(f"/auth/console-scenes/{ticket['scene']}/approve", token=manager["token"])
    assert resp.status == 403


def test_staff_lists_by_store_and_all(client, actors) -> None:
    actors.store("s1")
    actors.store("s2")
    a = actors.staff("staff-a", "clerk", ["s1"])
    b = actors.staff("staff-b", "manager", ["s1", "s2"])
    admin = actors.admin["token"]
    every = ok(client.get("/admin/staff", token=admin))["items"]
    assert {(s["member_id"], s["role"], tuple(s["store_ids"])) for s in every} == {
        (a["member_id"], "clerk", ("s1",)), (b["member_id"], "manager", ("s1", "s2"))}
    assert [s["member_id"] for s in ok(client.get("/admin/staff", query={"store_id": "s2"}, token=admin))["items"]] \
        == [b["member_id"]]
    # moving b to s2 only takes them off s1's list
    ok(client.post("/admin/staff", {"member_id": b["member_id"], "role": "clerk", "store_ids": ["s2"]}, token=admin),
       201)
    assert [s["member_id"] for s in ok(client.get("/admin/staff", query={"store_id": "s1"}, token=admin))["items"]] \
        == [a["member_id"]]
    # pages
    first = ok(client.get("/admin/staff", query={"limit": 1}, token=admin))
    assert len(first["items"]) == 1 and first["next"]
    second = ok(client.get("/admin/staff", query={"limit": 1, "cursor": first["next"]}, token=admin))
    assert len(second["items"]) == 1 and second["next"] is None and second["items"] != first["items"]
    bad = client.get("/admin/staff", query={"store_id": "s1", "cursor": first["next"]}, token=admin)
    assert bad.status == 400


def test_staff_routes_are_for_admins(client, actors) -> None:
    actors.store("s1")
    manager = actors.staff("mgr-x", "manager", ["s1"])
    assert client.get("/admin/staff", token=manager["token"]).status == 403
    assert client.delete(f"/admin/staff/{manager['member_id']}", token=manager["token"]).status == 403
    assert client.get("/admin/staff", query={"limit": 0}, token=actors.admin["token"]).status == 400


def test_erasing_a_staff_member_clears_the_store_list(client, actors) -> None:
    actors.store("s1")
    clerk = actors.staff("clerk-erase", "clerk", ["s1"])
    ok(client.delete("/me", token=clerk["token"]))
    assert ok(client.get("/admin/staff", query={"store_id": "s1"}, token=actors.admin["token"]))["items"] == []
