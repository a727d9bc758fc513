"""Demo data, created through the API as an admin would: stores in two cities, products, a manager, a clerk."""

from __future__ import annotations

import logging
from typing import Any

from local.testing import TestClient

log = logging.getLogger("local")

DEMO_STORES: list[dict[str, Any]] = [
    {"store_id": "sh-jingan", "name": "StoreLoop 静安店", "city": "上海", "address": "南京西路 1266 号",
     "lat": 31.2292, "lng": 121.4510, "open_time": "10:00", "close_time": "22:00", "slot_minutes": 30,
     "slot_capacity": 4},
    {"store_id": "sh-xintiandi", "name": "StoreLoop 新天地店", "city": "上海", "address": "马当路 245 号",
     "lat": 31.2196, "lng": 121.4750, "open_time": "10:00", "close_time": "22:00", "slot_minutes": 30,
     "slot_capacity": 4},
    {"store_id": "hz-hubin", "name": "StoreLoop 湖滨店", "city": "杭州", "address": "延安路 258 号",
     "lat": 30.2590, "lng": 120.1650, "open_time": "09:30", "close_time": "21:30", "slot_minutes": 45,
     "slot_capacity": 6},
]

DEMO_PRODUCTS: list[dict[str, Any]] = [
    {"sku": "latte-m", "name": "拿铁 中杯", "price_fen": 3200, "stock": {"sh-jingan": 50, "sh-xintiandi": 50}},
    {"sku": "beans-250g", "name": "咖啡豆 250g", "price_fen": 9800,
     "stock": {"sh-jingan": 20, "sh-xintiandi": 20, "hz-hubin": 20}},
]

# Login codes the demo uses; the WeChat fake turns each into a stable openid.
DEMO_LOGINS = {"admin": "admin", "manager": "demo-manager", "clerk": "demo-clerk", "shopper": "demo-shopper"}


def seed(client: TestClient) -> dict[str, Any]:
    admin = client.login(DEMO_LOGINS["admin"])
    token = admin["token"]
    for store in DEMO_STORES:
        resp = client.post("/admin/stores", store, token=token)
        if resp.status not in (201, 409):
            raise RuntimeError(f"seeding store {store['store_id']}: {resp.status} {resp.body!r}")
    for product in DEMO_PRODUCTS:
        resp = client.post("/admin/products", product, token=token)
        if resp.status not in (201, 409):
            raise RuntimeError(f"seeding product {product['sku']}: {resp.status} {resp.body!r}")
    manager = client.login(DEMO_LOGINS["manager"])
    clerk = client.login(DEMO_LOGINS["clerk"])
    for who, role, stores in ((manager, "manager", ["sh-jingan", "sh-xintiandi"]), (clerk, "clerk", ["sh-jingan"])):
        resp = client.post("/admin/staff", {"member_id": who["member_id"], "role": role, "store_ids": stores},
                           token=token)
        if resp.status != 201:
            raise RuntimeError(f"seeding staff: {resp.status} {resp.body!r}")
    shopper = client.login(DEMO_LOGINS["shopper"])
    log.info("demo data: %d stores, %d products; manager %s, clerk %s, shopper %s", len(DEMO_STORES),
             len(DEMO_PRODUCTS), manager["member_id"],
             clerk["member_id"], shopper["member_id"])
    return {"admin": admin, "manager": manager, "clerk": clerk, "shopper": shopper, "stores": DEMO_STORES,
            "products": DEMO_PRODUCTS}
