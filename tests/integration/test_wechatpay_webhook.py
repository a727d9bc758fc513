"""POST /webhooks/wechatpay: only notifications WeChat Pay provably sent, recently, for the order's own amount,
merchant and app change anything; each is acted on once. The answers are WeChat's: 200 empty, or 401 FAIL."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.merchant_keys import merchant
from storeloop.wechat.pay import build_notification

PAY = merchant()
PLATFORM_KEY = PAY.platform_private_key_pem
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


pytestmark = pytest.mark.notifiable


@pytest.fixture
def placed(client, actors):
    """A pending order of ¥32 (one latte at s1, 5 in stock) and its shopper."""
    actors.store("s1")
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 5}}
    assert client.post("/admin/products", body, token=actors.admin["token"]).status == 201
    shopper = actors.member()
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]}, token=shopper["token"])
    assert resp.status == 201, resp.body
    return {"order": resp.json()["order"], "token": shopper["token"]}


def paid_resource(order_id, **change):
    return {"appid": PAY.appid, "mchid": PAY.mchid, "out_trade_no": order_id,
            "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "success_time": "2026-11-26T14:00:00+08:00", "payer": {"openid": "o_x"},
            "amount": {"total": 3200, "payer_total": 3200, "currency": "CNY"}, **change}


def notify(client, resource, event_type="TRANSACTION.SUCCESS", *, key=PLATFORM_KEY, serial=PAY.platform_serial,
           apiv3=PAY.apiv3_key, now=None, tamper=None, headers_change=None):
    headers, body = build_notification(event_type, resource, apiv3, key, serial, now)
    if tamper:
        body = tamper(body)
    headers = {**headers, **(headers_change or {})}
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.request("POST", "/webhooks/wechatpay", raw=body.encode(), headers=headers)


def state(client, placed):
    return (client.get(f"/orders/{placed['order']['order_id']}", token=placed["token"]).json(),
            client.get("/me", token=placed["token"]).json(), client.get("/me/points", token=placed["token"]).json())


def test_a_genuine_notification_pays_the_order_once_and_answers_200_empty(client, placed):
    oid = placed["order"]["order_id"]
    first = notify(client, paid_resource(oid))
    assert first.status == 200 and first.body == b""
    order, me, ledger = state(client, placed)
    assert order["status"] == "paid" and order["pickup_code"] and order["points_earned"] == 32
    assert me["points"] == 32 and me["is_member"] and me["lifetime_spend_fen"] == 3200
    again = notify(client, paid_resource(oid))  # WeChat retries; a new notification id, the same payment
    assert again.status == 200 and again.body == b""
    assert state(client, placed) == (order, me, ledger)


@pytest.mark.parametrize("case", ["forged", "stale", "future", "tampered", "wrong_serial", "missing_signature",
                                  "missing_timestamp", "garbage_signature", "other_apiv3_key", "wrong_sig_type"])
def test_an_unproven_notification_is_401_fail_and_changes_nothing(client, placed, case):
    oid = placed["order"]["order_id"]
    before = state(client, placed)
    kwargs = {
        "forged": {"key": OTHER_KEY},
        "stale": {"now": int(time.time()) - 301},
        "future": {"now": int(time.time()) + 301},
        "tampered": {"tamper": lambda b: b.replace('"summary":"支付成功"', '"summary":"x"')},
        "wrong_serial": {"serial": "PUB_KEY_ID_0000000000000000000000000000"},
        "missing_signature": {"headers_change": {"Wechatpay-Signature": None}},
        "missing_timestamp": {"headers_change": {"Wechatpay-Timestamp": None}},
        "garbage_signature": {"headers_change": {"Wechatpay-Signature": "not base64 at all!"}},
        "other_apiv3_key": {"apiv3": "0" * 32},
        "wrong_sig_type": {"headers_change": {"Wechatpay-Signature-Type": "WECHATPAY2-SHA256-SM2"}},
    }[case]
    resp = notify(client, paid_resource(oid), **kwargs)
    assert resp.status == 401, (case, resp.status, resp.body)
    body = resp.json()
    assert body["code"] == "FAIL" and body["message"] and "error" not in body
    assert state(client, placed) == before


@pytest.mark.parametrize("change", [
    {"amount": {"total": 1, "payer_total": 1, "currency": "CNY"}},
    {"amount": {"total": 3201, "payer_total": 3201, "currency": "CNY"}},
    {"amount": "3200"},
    {"mchid": "1900000002"},
    {"appid": "wx0000000000000000"},
    {"trade_state": "NOTPAY"},
    {"transaction_id": ""},
    {"out_trade_no": "ord_not_ours"},
])
def test_a_genuine_notification_that_does_not_fit_the_order_is_acknowledged_and_changes_nothing(client, placed,
                                                                                                 change):
    before = state(client, placed)
    resp = notify(client, paid_resource(placed["order"]["order_id"], **change))
    assert resp.status == 200 and resp.body == b""  # WeChat would only send it again; it is logged for a person
    assert state(client, placed) == before


def test_an_amount_mismatch_through_the_fake_leaves_the_order_pending(client, placed, wechat):
    before = state(client, placed)
    answer = requests.post(wechat.base_url + "/_sim/pay", json={"order_id": placed["order"]["order_id"],
                                                               "amount_fen": 1}, timeout=10).json()
    assert answer["status"] == 200
    assert state(client, placed) == before


def test_ten_concurrent_copies_of_one_notification_pay_once_and_earn_points_once(client, placed):
    oid = placed["order"]["order_id"]
    headers, body = build_notification("TRANSACTION.SUCCESS", paid_resource(oid), PAY.apiv3_key, PLATFORM_KEY,
                                       PAY.platform_serial)
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.request("POST", "/webhooks/wechatpay", raw=body.encode(),
                                                         headers=headers), range(10)))
    assert [a.status for a in answers] == [200] * 10
    order, me, ledger = state(client, placed)
    assert order["status"] == "paid" and me["points"] == 32
    assert [e["reason"] for e in ledger["items"]] == ["order_points_earned"]


def test_a_refund_notification_for_an_order_not_being_refunded_changes_nothing(client, placed):
    oid = placed["order"]["order_id"]
    assert notify(client, paid_resource(oid)).status == 200
    before = state(client, placed)
    refund = {"mchid": PAY.mchid, "out_trade_no": oid, "transaction_id": "4200000000000000000000000001",
              "out_refund_no": f"{oid}-R", "refund_id": "50000000000000000000000000001", "refund_status": "SUCCESS",
              "amount": {"total": 3200, "refund": 3200, "payer_total": 3200, "payer_refund": 3200}}
    assert notify(client, refund, "REFUND.SUCCESS").status == 200
    assert notify(client, {**refund, "out_refund_no": "someone-else"}, "REFUND.SUCCESS").status == 200
    assert state(client, placed) == before


def test_a_body_that_is_not_a_notification_is_refused(client, placed):
    before = state(client, placed)
    for raw in (b"", b"{}", b"not json", "支付".encode()):
        resp = client.request("POST", "/webhooks/wechatpay", raw=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 401 and resp.json()["code"] == "FAIL"
    assert state(client, placed) == before
