"""HQ manages coupon templates through the routes: lists with live counts, edits of the named fields, restock."""

from __future__ import annotations

import pytest

from local.testing import ok
from tests.integration.test_claims import claim, new_campaign, new_template


def patch(client, path, body, token):
    return client.request("PATCH", path, json_body=body, token=token)


def test_list_newest_first_with_issued_and_remaining(client, actors, admin) -> None:
    first = new_template(client, admin, name="first", total_stock=10)
    second = new_template(client, admin, name="second", total_stock=300)
    campaign = new_campaign(client, admin, [first["template_id"], second["template_id"]])
    for i in range(3):
        ok(claim(client, actors.member(f"shopper-{i}")["token"], campaign["campaign_id"], second["template_id"]), 201)
    listed = ok(client.get("/admin/coupon-templates", token=admin))
    assert [t["template_id"] for t in listed["items"]] == [second["template_id"], first["template_id"]]
    by_id = {t["template_id"]: t for t in listed["items"]}
    assert (by_id[second["template_id"]]["issued"], by_id[second["template_id"]]["remaining"]) == (3, 297)
    assert (by_id[first["template_id"]]["issued"], by_id[first["template_id"]]["remaining"]) == (0, 10)
    assert by_id[first["template_id"]]["archived"] is False
    one = ok(client.get(f"/admin/coupon-templates/{second['template_id']}", token=admin))
    assert one["issued"] == 3 and one["total_stock"] == 300
    assert client.get("/admin/coupon-templates/t_nope", token=admin).status == 404
    page = ok(client.get("/admin/coupon-templates", query={"limit": 1}, token=admin))
    assert len(page["items"]) == 1 and page["next"]
    rest = ok(client.get("/admin/coupon-templates", query={"limit": 1, "cursor": page["next"]}, token=admin))
    assert [t["template_id"] for t in rest["items"]] == [first["template_id"]] and rest["next"] is None
    assert client.get("/admin/coupon-templates", query={"status": "gone"}, token=admin).status == 400
    assert client.get("/admin/coupon-templates", query={"status": "archived", "cursor": page["next"]},
                      token=admin).status == 400


def test_edit_named_fields_and_archive(client, actors, admin) -> None:
    actors.store("s1")
    t = new_template(client, admin, per_member_limit=1)
    path = f"/admin/coupon-templates/{t['template_id']}"
    edited = ok(patch(client, path, {"name": "renamed", "per_member_limit": 3, "daily_limit": 50,
                                     "channels": ["store"], "store_ids": ["s1"]}, admin))
    assert (edited["name"], edited["per_member_limit"], edited["daily_limit"], edited["channels"],
            edited["store_ids"]) == ("renamed", 3, 50, ["store"], ["s1"])
    assert edited["amount_off_fen"] == 1000 and edited["total_stock"] == 100  # untouched
    assert ok(patch(client, path, {"daily_limit": None}, admin))["daily_limit"] is None
    archived = ok(patch(client, path, {"archived": True}, admin))
    assert archived["archived"] is True and archived["archived_at"]
    assert ok(client.get("/admin/coupon-templates", token=admin))["items"] == []
    assert [x["template_id"] for x in ok(client.get("/admin/coupon-templates", query={"status": "archived"},
                                                    token=admin))["items"]] == [t["template_id"]]
    ok(patch(client, path, {"archived": False}, admin))
    assert len(ok(client.get("/admin/coupon-templates", token=admin))["items"]) == 1


@pytest.mark.parametrize("body, field", [
    ({"kind": "gift"}, "kind"), ({"total_stock": 5}, "total_stock"), ({"amount_off_fen": 1}, "amount_off_fen"),
    ({"validity": {"type": "relative", "days": 1}}, "validity"), ({"per_member_limit": 0}, "per_member_limit"),
    ({"channels": ["mars"]}, "channels.0"), ({"name": None}, "name"), ({"archived": "yes"}, "archived"),
])
def test_edit_refuses_other_fields_and_bad_values(client, admin, body, field) -> None:
    t = new_template(client, admin)
    resp = patch(client, f"/admin/coupon-templates/{t['template_id']}", body, admin)
    assert resp.status == 400 and resp.json()["error"]["code"] == "VALIDATION_FAILED", resp.body
    assert field in {d["field"] for d in resp.json()["error"]["details"]}


def test_per_member_limit_may_only_rise_and_unknown_stores(client, admin) -> None:
    t = new_template(client, admin, per_member_limit=2)
    path = f"/admin/coupon-templates/{t['template_id']}"
    resp = patch(client, path, {"per_member_limit": 1}, admin)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "per_member_limit"
    resp = patch(client, path, {"store_ids": ["nowhere"]}, admin)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "store_ids"
    assert patch(client, "/admin/coupon-templates/t_missing", {"name": "x"}, admin).status == 404


def test_a_raised_limit_applies_to_the_next_claim(client, actors, admin) -> None:
    t = new_template(client, admin, per_member_limit=1)
    campaign = new_campaign(client, admin, [t["template_id"]])
    shopper = actors.member("limit-shopper")["token"]
    ok(claim(client, shopper, campaign["campaign_id"], t["template_id"]), 201)
    assert claim(client, shopper, campaign["campaign_id"], t["template_id"]).status == 409
    ok(patch(client, f"/admin/coupon-templates/{t['template_id']}", {"per_member_limit": 2}, admin))
    ok(claim(client, shopper, campaign["campaign_id"], t["template_id"]), 201)


def test_restock_a_sold_out_template_across_new_shards(client, actors, admin, cloud) -> None:
    t = new_template(client, admin, total_stock=2)
    campaign = new_campaign(client, admin, [t["template_id"]])
    for i in range(2):
        ok(claim(client, actors.member(f"r-{i}")["token"], campaign["campaign_id"], t["template_id"]), 201)
    late = actors.member("r-late")["token"]
    assert claim(client, late, campaign["campaign_id"], t["template_id"]).json()["error"]["code"] == "SOLD_OUT"
    path = f"/admin/coupon-templates/{t['template_id']}/restock"
    out = ok(client.post(path, {"add": 498}, token=admin, headers={"Idempotency-Key": "rs-1"}))
    assert out == {"template_id": t["template_id"], "total_stock": 500, "remaining": 498, "issued": 2}
    # the retry answers the same and adds nothing
    assert ok(client.post(path, {"add": 498}, token=admin, headers={"Idempotency-Key": "rs-1"})) == out
    reused = client.post(path, {"add": 5}, token=admin, headers={"Idempotency-Key": "rs-1"})
    assert reused.status == 409 and reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    from storeloop.data import template_admin
    from storeloop.domain.coupons import stock_shard_count

    stored = template_admin.get(t["template_id"])
    assert int(stored.shards) == stock_shard_count(500) == 5
    counts = [int(s.remaining) for s in template_admin.StockShard.batch_get(
        [(f"STOCK#{t['template_id']}#{i:02d}", "STOCK") for i in range(5)], consistent_read=True)]
    assert sum(counts) == 498 and max(counts) - min(counts) <= 1  # spread over every shard
    # the container that saw it sold out claims again (its memory of empty shards was for the old total)
    ok(claim(client, late, campaign["campaign_id"], t["template_id"]), 201)
    listed = ok(client.get(f"/admin/coupon-templates/{t['template_id']}", token=admin))
    assert (listed["issued"], listed["remaining"], listed["total_stock"]) == (3, 497, 500)


def test_restock_bad_bodies_and_roles(client, actors, admin) -> None:
    t = new_template(client, admin)
    path = f"/admin/coupon-templates/{t['template_id']}/restock"
    for body in ({"add": 0}, {"add": -5}, {"add": "10"}, {}, {"add": 1, "extra": 1}):
        assert client.post(path, body, token=admin).status == 400, body
    assert client.post("/admin/coupon-templates/t_missing/restock", {"add": 1}, token=admin).status == 404
    shopper = actors.member("nosy")["token"]
    assert client.post(path, {"add": 1}, token=shopper).status == 403
    assert client.get("/admin/coupon-templates", token=shopper).status == 403
    assert patch(client, f"/admin/coupon-templates/{t['template_id']}", {"name": "x"}, shopper).status == 403


def test_a_daily_limit_set_by_patch_is_enforced(client, actors, admin) -> None:
    t = new_template(client, admin, per_member_limit=1)
    ok(patch(client, f"/admin/coupon-templates/{t['template_id']}", {"daily_limit": 2}, admin))
    c = new_campaign(client, admin, [t["template_id"]])["campaign_id"]
    got = [client.post(f"/campaigns/{c}/claims", {"template_id": t["template_id"]},
                       token=actors.member(f"dl-{i}")["token"]) for i in range(3)]
    assert [r.status for r in got] == [201, 201, 409]
    assert got[2].json()["error"]["code"] == "DAILY_LIMIT_REACHED"
