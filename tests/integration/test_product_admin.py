"""HQ manages products through the routes: the list with stock per store, edits, restock, deactivation."""

from __future__ import annotations

import pytest

from local.testing import ok
from tests.integration.test_orders import order, stock

pytestmark = pytest.mark.notifiable


def patch(client, path, body, token):
    return client.request("PATCH", path, json_body=body, token=token)


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    actors.store("s2")
    admin = actors.admin["token"]
    for body in ({"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5, "s2": 7}},
                 {"sku": "cookie", "name": "曲奇", "price_fen": 800, "stock": {"s1": 10}}):
        ok(client.post("/admin/products", body, token=admin), 201)
    return admin


def test_list_products_with_stock_per_store(client, shop) -> None:
    listed = ok(client.get("/admin/products", token=shop))
    assert [(p["sku"], p["stock"], p["active"]) for p in listed["items"]] == [
        ("cookie", {"s1": 10}, True), ("latte", {"s1": 5, "s2": 7}, True)]
    page = ok(client.get("/admin/products", query={"limit": 1}, token=shop))
    assert [p["sku"] for p in page["items"]] == ["cookie"] and page["next"]
    rest = ok(client.get("/admin/products", query={"limit": 1, "cursor": page["next"]}, token=shop))
    assert [p["sku"] for p in rest["items"]] == ["latte"] and rest["next"] is None


def test_edit_is_copied_to_every_store_and_to_new_orders(client, actors, shop) -> None:
    edited = ok(patch(client, "/admin/products/latte", {"name": "燕麦拿铁", "price_fen": 3500}, shop))
    assert (edited["name"], edited["price_fen"], edited["stock"]) == ("燕麦拿铁", 3500, {"s1": 5, "s2": 7})
    shopper = actors.member("edit-shopper")["token"]
    for store_id in ("s1", "s2"):
        listed = ok(client.get(f"/stores/{store_id}/products", token=shopper))["items"]
        assert {p["sku"]: (p["name"], p["price_fen"]) for p in listed}["latte"] == ("燕麦拿铁", 3500)
    placed = ok(order(client, shopper), 201)["order"]
    assert placed["total_fen"] == 3500


@pytest.mark.parametrize("body, field", [
    ({"sku": "x"}, "sku"), ({"stock": {"s1": 1}}, "stock"), ({"price_fen": 0}, "price_fen"),
    ({"price_fen": "10"}, "price_fen"), ({"active": "no"}, "active"), ({"name": None}, "name"),
])
def test_edit_refuses_other_fields(client, shop, body, field) -> None:
    resp = patch(client, "/admin/products/latte", body, shop)
    assert resp.status == 400 and field in {d["field"] for d in resp.json()["error"]["details"]}, resp.body


def test_a_deactivated_product_cannot_be_ordered(client, actors, shop) -> None:
    assert ok(patch(client, "/admin/products/latte", {"active": False}, shop))["active"] is False
    shopper = actors.member("inactive-shopper")["token"]
    resp = order(client, shopper)
    assert resp.status == 409 and resp.json()["error"]["code"] == "PRODUCT_INACTIVE"
    assert "latte" not in stock(client, shopper)  # nor listed to shoppers
    assert ok(order(client, shopper, items=(("cookie", 1),)), 201)
    ok(patch(client, "/admin/products/latte", {"active": True}, shop))
    assert ok(order(client, shopper), 201)["order"]["status"] == "pending_payment"


def test_restock_at_a_store_and_at_a_new_one(client, actors, shop) -> None:
    path = "/admin/products/cookie/restock"
    out = ok(client.post(path, {"store_id": "s1", "add": 5}, token=shop, headers={"Idempotency-Key": "ck-1"}))
    assert out == {"sku": "cookie", "store_id": "s1", "stock": 15}
    assert ok(client.post(path, {"store_id": "s1", "add": 5}, token=shop, headers={"Idempotency-Key": "ck-1"})) == out
    assert ok(client.post(path, {"store_id": "s2", "add": 3}, token=shop))["stock"] == 3
    listed = {p["sku"]: p for p in ok(client.get("/admin/products", token=shop))["items"]}
    assert listed["cookie"]["stock"] == {"s1": 15, "s2": 3}
    shopper = actors.member("restock-shopper")["token"]
    assert stock(client, shopper, "s2")["cookie"] == 3
    ok(order(client, shopper, items=(("cookie", 3),), store_id="s2"), 201)


def test_restock_and_edit_errors_and_roles(client, actors, shop) -> None:
    path = "/admin/products/cookie/restock"
    for body in ({"store_id": "s1", "add": 0}, {"store_id": "s1"}, {"add": 1}, {"store_id": "s1", "add": 1.5}):
        assert client.post(path, body, token=shop).status == 400, body
    resp = client.post(path, {"store_id": "nowhere", "add": 1}, token=shop)
    assert resp.status == 400 and resp.json()["error"]["details"][0]["field"] == "store_id"
    assert client.post("/admin/products/nope/restock", {"store_id": "s1", "add": 1}, token=shop).status == 404
    assert patch(client, "/admin/products/nope", {"name": "x"}, shop).status == 404
    manager = actors.staff("prod-manager", "manager", ["s1"])["token"]
    assert client.get("/admin/products", token=manager).status == 403
    assert patch(client, "/admin/products/latte", {"active": False}, manager).status == 403
    assert client.post(path, {"store_id": "s1", "add": 1}, token=manager).status == 403
