"""Products through the routes: an admin creates one with stock per store; members list a store's products."""

from __future__ import annotations

import boto3
import pytest

from local.cloud import REGION

PRODUCT = {"sku": "latte-m", "name": "拿铁 中杯", "price_fen": 3200, "stock": {"s1": 5, "s2": 0}}


def items(cloud):
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.ref("MainTable"))["Items"]  # test only


@pytest.fixture
def stores(actors):
    actors.store("s1")
    actors.store("s2")


def test_admin_creates_a_product_and_each_store_lists_its_own_stock(client, actors, stores):
    resp = client.post("/admin/products", PRODUCT, token=actors.admin["token"])
    assert resp.status == 201, resp.body
    assert resp.json() | {"created_at": None} == PRODUCT | {"created_at": None}
    shopper = actors.member()["token"]
    got = client.get("/stores/s1/products", token=shopper)
    assert got.status == 200
    assert got.json() == {"items": [{"sku": "latte-m", "name": "拿铁 中杯", "price_fen": 3200, "stock": 5}],
                          "next": None}
    assert client.get("/stores/s2/products", token=shopper).json()["items"][0]["stock"] == 0


def test_a_store_without_the_product_lists_nothing_and_an_unknown_store_is_404(client, actors, stores):
    actors.store("s3")
    assert client.post("/admin/products", PRODUCT, token=actors.admin["token"]).status == 201
    shopper = actors.member()["token"]
    assert client.get("/stores/s3/products", token=shopper).json() == {"items": [], "next": None}
    resp = client.get("/stores/nope/products", token=shopper)
    assert resp.status == 404 and resp.json()["error"]["code"] == "NOT_FOUND"


def test_a_duplicate_sku_is_409_and_changes_nothing(client, actors, stores, cloud):
    admin = actors.admin["token"]
    assert client.post("/admin/products", PRODUCT, token=admin).status == 201
    before = items(cloud)
    resp = client.post("/admin/products", PRODUCT | {"price_fen": 1, "stock": {"s1": 999}}, token=admin)
    assert resp.status == 409 and resp.json()["error"]["code"] == "PRODUCT_EXISTS"
    assert sorted(map(str, items(cloud))) == sorted(map(str, before))


def test_the_list_pages_with_a_cursor(client, actors, stores):
    admin = actors.admin["token"]
    for i in range(5):
        assert client.post("/admin/products", PRODUCT | {"sku": f"sku-{i}"}, token=admin).status == 201
    shopper = actors.member()["token"]
    seen, cursor = [], None
    while True:
        page = client.get("/stores/s1/products", token=shopper, query={"limit": 2, "cursor": cursor}).json()
        seen += [p["sku"] for p in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"sku-{i}" for i in range(5)]
    bad = client.get("/stores/s2/products", token=shopper, query={"limit": 2, "cursor": "eyJQSyI6IngifQ"})
    assert bad.status == 400 and bad.json()["error"]["code"] == "VALIDATION_FAILED"


def test_only_admins_create_products(client, actors, stores):
    shopper = actors.member()["token"]
    resp = client.post("/admin/products", PRODUCT, token=shopper)
    assert resp.status == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
    assert client.post("/admin/products", PRODUCT).status == 401


def test_the_same_idempotency_key_answers_the_first_response(client, actors, stores):
    admin = actors.admin["token"]
    first = client.post("/admin/products", PRODUCT, token=admin, headers={"Idempotency-Key": "p-1"})
    again = client.post("/admin/products", PRODUCT, token=admin, headers={"Idempotency-Key": "p-1"})
    assert first.status == again.status == 201 and first.json() == again.json()
    other = client.post("/admin/products", PRODUCT | {"sku": "x"}, token=admin, headers={"Idempotency-Key": "p-1"})
    assert other.status == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("change, field", [
    ({"sku": "has space"}, "sku"), ({"sku": ""}, "sku"), ({"name": ""}, "name"), ({"price_fen": 0}, "price_fen"),
    ({"price_fen": 12.5}, "price_fen"), ({"price_fen": "3200"}, "price_fen"), ({"price_fen": True}, "price_fen"),
    ({"stock": {}}, "stock"), ({"stock": {"s1": -1}}, "stock"), ({"stock": {"s1": 1.5}}, "stock"),
    ({"stock": ["s1"]}, "stock"), ({"stock": {"bad id!": 1}}, "stock"), ({"stock": {"nope": 1}}, "stock.nope"),
    ({"colour": "red"}, "colour"),
])
def test_bad_product_input_is_400_and_nothing_is_written(client, actors, stores, cloud, change, field):
    admin = actors.admin["token"]
    before = len(items(cloud))
    resp = client.post("/admin/products", PRODUCT | change, token=admin)
    assert resp.status == 400, resp.body
    error = resp.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert any(d["field"].startswith(field) for d in error["details"]), error["details"]
    assert len(items(cloud)) == before


def test_a_body_that_is_not_json_is_400(client, actors, stores):
    resp = client.request("POST", "/admin/products", raw=b"{not json", token=actors.admin["token"],
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400 and resp.json()["error"]["code"] == "VALIDATION_FAILED"
