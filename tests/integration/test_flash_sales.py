"""(issue 10) Flash sales through the routes, with the WeChat Pay fake: create and list with `remaining`, buy at
the sale price, the window, the per-member limit, sold out, an unpaid order giving its unit back at the payment
timeout exactly once, a paid one counted in the store's analytics; bad input answered 4xx."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339

TIMEOUT = 1


pytestmark = pytest.mark.notifiable({"ORDER_PAYMENT_TIMEOUT_SECONDS": str(TIMEOUT)})


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    actors.store("s2")
    admin = actors.admin["token"]
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 20, "s2": 5}}
    assert client.post("/admin/products", body, token=admin).status == 201
    return {"admin": admin}


def window(start_minutes=-1, end_minutes=60):
    at = clock.now()
    return {"starts_at": to_rfc3339(at + timedelta(minutes=start_minutes)),
            "ends_at": to_rfc3339(at + timedelta(minutes=end_minutes))}


def new_sale(client, admin, **fields):
    body = {"sku": "latte", "store_ids": ["s1"], "price_fen": 990, "stock": 3, "per_member_limit": 1,
            **window(), **fields}
    resp = client.post("/admin/flash-sales", body, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()


def buy(client, token, sale_id, store_id="s1"):
    return client.post(f"/flash-sales/{sale_id}/orders", {"store_id": store_id}, token=token)


def sim_pay(wechat, order_id):
    return requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).json()


def remaining(client, token, sale_id):
    return client.get(f"/flash-sales/{sale_id}", token=token).json()["remaining"]


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_flash_order_is_an_order_at_the_sale_price_from_the_sales_own_stock(client, actors, shop, wechat, cloud):
    sale = new_sale(client, shop["admin"])
    assert sale["remaining"] == 3 and sale["status"] == "live" and sale["name"] == "拿铁"
    token = actors.member()["token"]
    listed = client.get("/flash-sales", token=token).json()["items"]
    assert [s["flash_sale_id"] for s in listed] == [sale["flash_sale_id"]]
    resp = buy(client, token, sale["flash_sale_id"])
    assert resp.status == 201, resp.body
    order = resp.json()["order"]
    assert order["payable_fen"] == 990 and order["items"][0]["price_fen"] == 990 and resp.json()["payment"]["paySign"]
    assert (order["campaign_kind"], order["campaign_ref"]) == ("flash_sale", sale["flash_sale_id"])
    assert remaining(client, token, sale["flash_sale_id"]) == 2
    # The store's own stock is not the sale's: it is untouched.
    assert client.get("/stores/s1/products", token=token).json()["items"][0]["stock"] == 20
    assert sim_pay(wechat, order["order_id"])["status"] == 200
    paid = wait_until(lambda: (o := client.get(f"/orders/{order['order_id']}", token=token).json())["status"]
                      == "paid" and o)
    assert paid["pickup_code"]
    # Paid: the unit stays sold after the payment timeout.
    time.sleep(TIMEOUT + 0.5)
    assert remaining(client, token, sale["flash_sale_id"]) == 2
    cloud.drain_streams()
    day = clock.now().astimezone(clock.CN_TZ).date().isoformat()
    stats = client.get(f"/admin/analytics/stores/s1?from={day}&to={day}", token=shop["admin"]).json()
    assert stats["totals"]["flash_units"] == 1 and stats["days"][0]["flash_units"] == 1
    assert stats["totals"]["flash_revenue_fen"] == 990 and stats["totals"]["revenue_fen"] == 990


def test_an_unpaid_order_gives_its_unit_back_at_the_timeout_once(client, actors, shop, cloud):
    sale = new_sale(client, shop["admin"], stock=1)
    token = actors.member()["token"]
    order = buy(client, token, sale["flash_sale_id"]).json()["order"]
    other = actors.member("shopper-2")["token"]
    refused = buy(client, other, sale["flash_sale_id"])
    assert refused.status == 409 and refused.json()["error"]["code"] == "SOLD_OUT"
    wait_until(lambda: client.get(f"/orders/{order['order_id']}", token=token).json()["status"] == "cancelled")
    assert remaining(client, token, sale["flash_sale_id"]) == 1
    # The flow's task again (a Step Functions retry) gives nothing back twice.
    assert cloud.invoke("ExpireOrderFunction", {"order_id": order["order_id"]})["outcome"] == "already_cancelled"
    assert remaining(client, token, sale["flash_sale_id"]) == 1
    # The cancelled order no longer counts against the member's limit: they may buy again.
    again = buy(client, token, sale["flash_sale_id"])
    assert again.status == 201, again.body
    assert remaining(client, token, sale["flash_sale_id"]) == 0


def test_the_shopper_cancelling_gives_the_unit_back(client, actors, shop):
    sale = new_sale(client, shop["admin"], stock=2)
    token = actors.member()["token"]
    order = buy(client, token, sale["flash_sale_id"]).json()["order"]
    assert client.post(f"/orders/{order['order_id']}/cancel", token=token).json()["status"] == "cancelled"
    assert remaining(client, token, sale["flash_sale_id"]) == 2


def test_the_limit_window_and_store(client, actors, shop):
    sale = new_sale(client, shop["admin"], per_member_limit=2)
    token = actors.member()["token"]
    assert buy(client, token, sale["flash_sale_id"]).status == 201
    assert buy(client, token, sale["flash_sale_id"]).status == 201
    third = buy(client, token, sale["flash_sale_id"])
    assert third.status == 409 and third.json()["error"]["code"] == "PURCHASE_LIMIT_REACHED"
    elsewhere = buy(client, actors.member("s-2")["token"], sale["flash_sale_id"], store_id="s2")
    assert elsewhere.status == 409 and elsewhere.json()["error"]["code"] == "NOT_SOLD_AT_STORE"
    later = new_sale(client, shop["admin"], **window(30, 60))
    assert later["status"] == "upcoming"
    early = buy(client, token, later["flash_sale_id"])
    assert early.status == 409 and early.json()["error"]["code"] == "FLASH_SALE_NOT_LIVE"
    over = new_sale(client, shop["admin"], **window(-60, -30))
    late = buy(client, token, over["flash_sale_id"])
    assert late.status == 409 and late.json()["error"]["code"] == "FLASH_SALE_NOT_LIVE"
    # The list shows live and upcoming, not ended.
    ids = {s["flash_sale_id"] for s in client.get("/flash-sales", token=token).json()["items"]}
    assert ids == {sale["flash_sale_id"], later["flash_sale_id"]}
    assert buy(client, token, "fs_nope").status == 404
    assert client.get("/flash-sales/fs_nope", token=token).status == 404


@pytest.mark.parametrize("field,value", [("stock", 0), ("stock", -1), ("per_member_limit", 0),
                                         ("per_member_limit", -2), ("price_fen", 0), ("price_fen", -5),
                                         ("sku", "unknown-sku"), ("store_ids", ["nowhere"]), ("store_ids", []),
                                         ("stock", "10"), ("extra", 1)])
def test_bad_input_is_a_clear_400(client, shop, field, value):
    body = {"sku": "latte", "store_ids": ["s1"], "price_fen": 990, "stock": 3, "per_member_limit": 1, **window(),
            field: value}
    resp = client.post("/admin/flash-sales", body, token=shop["admin"])
    assert resp.status == 400, resp.body
    assert resp.json()["error"]["code"] == "VALIDATION_FAILED"


def test_a_window_ending_before_it_starts_is_refused_and_members_may_not_create(client, actors, shop):
    body = {"sku": "latte", "store_ids": ["s1"], "price_fen": 990, "stock": 3, "per_member_limit": 1,
            **window(60, 30)}
    assert client.post("/admin/flash-sales", body, token=shop["admin"]).status == 400
    assert client.post("/admin/flash-sales", body, token=actors.member()["token"]).status == 403
    bad = client.post("/flash-sales/x/orders", {"store_id": "s1", "qty": 2}, token=actors.member()["token"])
    assert bad.status == 400


def test_a_retried_buy_with_the_same_idempotency_key_takes_one_unit(client, actors, shop):
    sale = new_sale(client, shop["admin"], stock=3, per_member_limit=3)
    token = actors.member()["token"]
    path = f"/flash-sales/{sale['flash_sale_id']}/orders"
    first = client.post(path, {"store_id": "s1"}, token=token, headers={"Idempotency-Key": "fs-retry-1"})
    again = client.post(path, {"store_id": "s1"}, token=token, headers={"Idempotency-Key": "fs-retry-1"})
    assert first.status == again.status == 201
    assert first.json()["order"]["order_id"] == again.json()["order"]["order_id"]
    assert remaining(client, token, sale["flash_sale_id"]) == 2
    other = client.post(path, {"store_id": "s2"}, token=token, headers={"Idempotency-Key": "fs-retry-1"})
    assert other.status == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
