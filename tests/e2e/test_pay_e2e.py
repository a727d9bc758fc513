"""Order → pay → pickup → refund over real HTTP: the local system on free ports, the shopper paying through the
WeChat Pay fake's /_sim/pay, whose signed notifications reach /webhooks/wechatpay over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from local.merchant_keys import local_pay_env
from local.system import LocalSystem


@pytest.fixture(scope="module")
def system() -> Iterator[LocalSystem]:
    running = LocalSystem(api_port=0, wechat_port=0, overrides=local_pay_env()).start(pollers=False)
    yield running
    running.stop()


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body=None, token: str | None = None, **headers: str):
        hdrs = {"Authorization": f"Bearer {token}"} if token else {}
        resp = requests.request(method, self.base + path, json=body, headers={**hdrs, **headers}, timeout=30)
        return resp.status_code, (resp.json() if resp.content else None)


def login(api: Api, code: str) -> dict:
    status, body = api("POST", "/auth/login", {"code": code})
    assert status == 200, body
    return body


def test_order_pay_pickup_refund_over_http(system):
    assert system.server is not None and system.wechat is not None
    api, wechat = Api(system.server.base_url), system.wechat.base_url
    admin = login(api, "admin")["token"]
    store = {"store_id": "e2e-1", "name": "E2E 店", "city": "上海", "address": "1 Road", "lat": 31.23, "lng": 121.47}
    assert api("POST", "/admin/stores", store, admin)[0] == 201
    product = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"e2e-1": 3}}
    assert api("POST", "/admin/products", product, admin)[0] == 201
    for code, role in (("e2e-clerk", "clerk"), ("e2e-manager", "manager")):
        who = login(api, code)
        assert api("POST", "/admin/staff", {"member_id": who["member_id"], "role": role, "store_ids": ["e2e-1"]},
                   admin)[0] == 201
    clerk, manager = login(api, "e2e-clerk")["token"], login(api, "e2e-manager")["token"]
    shopper = login(api, "e2e-shopper")["token"]

    status, placed = api("POST", "/orders", {"store_id": "e2e-1", "items": [{"sku": "latte", "qty": 2}]}, shopper,
                         **{"Idempotency-Key": "e2e-order-1"})
    assert status == 201, placed
    order_id = placed["order"]["order_id"]
    assert placed["payment"]["signType"] == "RSA" and placed["payment"]["package"].startswith("prepay_id=")

    paid = requests.post(f"{wechat}/_sim/pay", json={"order_id": order_id}, timeout=30).json()
    assert paid == {"delivered": True, "status": 200, "transaction_id": paid["transaction_id"]}
    status, order = api("GET", f"/orders/{order_id}", token=shopper)
    assert status == 200 and order["status"] == "paid" and order["points_earned"] == 64

    status, done = api("POST", f"/orders/{order_id}/pickup", {"pickup_code": order["pickup_code"]}, clerk)
    assert status == 200 and done["status"] == "completed"

    status, refunding = api("POST", f"/orders/{order_id}/refund", {"reason": "顾客退货"}, manager)
    assert status == 200 and refunding["status"] == "refund_pending"
    deadline = time.monotonic() + 10
    while api("GET", f"/orders/{order_id}", token=shopper)[1]["status"] != "refunded":
        assert time.monotonic() < deadline, "the refund notification never arrived"
        time.sleep(0.1)
    status, ledger = api("GET", "/me/points", token=shopper)
    assert [(e["reason"], e["delta"]) for e in ledger["items"]] == [("refund_clawback", -64),
                                                                   ("order_points_earned", 64)]
    deliveries = requests.get(f"{wechat}/_sim/pay/deliveries", timeout=10).json()["deliveries"]
    mine = [d for d in deliveries if d["out_trade_no"] == order_id]
    assert [(d["event_type"], d["status"]) for d in mine] == [("TRANSACTION.SUCCESS", 200), ("REFUND.SUCCESS", 200)]


def test_a_forged_notification_over_http_is_401_fail(system):
    assert system.server is not None
    resp = requests.post(system.server.base_url + "/webhooks/wechatpay", data=b'{"id":"x"}', timeout=10,
                         headers={"Content-Type": "application/json", "Wechatpay-Timestamp": str(int(time.time())),
                                  "Wechatpay-Nonce": "n", "Wechatpay-Signature": "c2ln",
                                  "Wechatpay-Serial": "PUB_KEY_ID_0"})
    assert resp.status_code == 401 and resp.json()["code"] == "FAIL"


def test_a_pos_sale_over_http_earns_points_once(system):
    assert system.server is not None
    api = Api(system.server.base_url)
    admin = login(api, "admin")["token"]
    store = {"store_id": "e2e-pos", "name": "POS 店", "city": "上海", "address": "2 Road", "lat": 31.2, "lng": 121.4}
    assert api("POST", "/admin/stores", store, admin)[0] == 201
    secret = api("POST", "/admin/stores/e2e-pos/pos-secret", None, admin)[1]["secret"]
    shopper = login(api, "e2e-pos-shopper")["token"]
    code = api("GET", "/me/member-code", token=shopper)[1]["code"]
    sale = {"sale_id": "T-1", "member_code": code, "total_fen": 2590, "items": [], "coupon_codes": [],
            "occurred_at": datetime.now(timezone(timedelta(hours=8))).replace(microsecond=0).isoformat()}
    raw = json.dumps(sale).encode()
    answers = []
    for _ in range(2):
        ts = str(int(time.time()))
        sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        resp = requests.post(f"{system.server.base_url}/webhooks/pos/e2e-pos", data=raw, timeout=10,
                             headers={"X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})
        assert resp.status_code == 200, resp.text
        answers.append(resp.json())
    assert answers[0] == answers[1] and answers[0]["points_earned"] == 25
    assert api("GET", "/me", token=shopper)[1]["points"] == 25
