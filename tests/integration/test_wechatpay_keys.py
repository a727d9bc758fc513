"""WeChat Pay platform key rotation (API.md v2): a list of trusted platform keys, by PUB_KEY_ID_… or certificate
serial. A notification (or an API answer) signed by any of them is accepted; any other key is refused."""

from __future__ import annotations

import json
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.merchant_keys import merchant
from storeloop.wechat.pay import build_notification

PAY = merchant()
PRIMARY = PAY.platform_private_key_pem, PAY.platform_serial
NEW_SERIAL = "PUB_KEY_ID_0114232134912410000000000000000002"
CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


ROTATED, ROTATED_PUBLIC = key_pair()
CERT, CERT_PUBLIC = key_pair()
UNTRUSTED, _ = key_pair()


pytestmark = pytest.mark.notifiable({"PAY_PLATFORM_KEYS": json.dumps({NEW_SERIAL: ROTATED_PUBLIC,
                                                                     CERT_SERIAL: CERT_PUBLIC})})


@pytest.fixture
def orders(client, actors):
    actors.store("s1")
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 10}}
    assert client.post("/admin/products", body, token=actors.admin["token"]).status == 201
    shopper = actors.member()

    def place() -> str:
        resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}]},
                           token=shopper["token"])
        assert resp.status == 201, resp.body
        return resp.json()["order"]["order_id"]

    def status(order_id: str) -> str:
        return client.get(f"/orders/{order_id}", token=shopper["token"]).json()["status"]

    return place, status


def paid(order_id: str) -> dict:
    return {"appid": PAY.appid, "mchid": PAY.mchid, "out_trade_no": order_id,
            "transaction_id": f"42000000000000000000{int(time.time() * 1000) % 10**8:08d}", "trade_type": "JSAPI",
            "trade_state": "SUCCESS", "success_time": "2026-11-26T14:00:00+08:00", "payer": {"openid": "o_x"},
            "amount": {"total": 3200, "payer_total": 3200, "currency": "CNY"}}


def notify(client, order_id: str, key: str, serial: str):
    headers, body = build_notification("TRANSACTION.SUCCESS", paid(order_id), PAY.apiv3_key, key, serial)
    return client.request("POST", "/webhooks/wechatpay", raw=body.encode(), headers=headers)


@pytest.mark.parametrize("key, serial", [PRIMARY, (ROTATED, NEW_SERIAL), (CERT, CERT_SERIAL)],
                         ids=["primary PUB_KEY_ID", "rotated PUB_KEY_ID", "certificate serial"])
def test_a_notification_signed_by_any_trusted_key_pays(client, orders, key, serial):
    place, status = orders
    order_id = place()
    resp = notify(client, order_id, key, serial)
    assert resp.status == 200 and resp.body == b""
    assert status(order_id) == "paid"


@pytest.mark.parametrize("key, serial", [(UNTRUSTED, "PUB_KEY_ID_0114232134912410000000000000000099"),
                                         (UNTRUSTED, NEW_SERIAL), (ROTATED, CERT_SERIAL), (CERT, PRIMARY[1])],
                         ids=["untrusted key and serial", "untrusted key, trusted serial", "keys swapped",
                              "certificate key under the primary serial"])
def test_any_other_key_is_refused_and_nothing_changes(client, orders, key, serial):
    place, status = orders
    order_id = place()
    resp = notify(client, order_id, key, serial)
    assert resp.status == 401 and resp.json()["code"] == "FAIL"
    assert status(order_id) == "pending_payment"


def test_the_pay_fake_rotating_its_key_needs_no_downtime(client, orders, wechat):
    """WeChat rotates: its API answers (prepay) and its notifications come signed by the new key at once."""
    place, status = orders
    previous = wechat.pay.rotate_platform_key(ROTATED, NEW_SERIAL)
    try:
        order_id = place()  # the prepay answer is signed with the rotated key: the client must trust it
        requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).raise_for_status()
        assert wechat.pay.wait_for_deliveries()
        assert status(order_id) == "paid"
    finally:
        wechat.pay.rotate_platform_key(*previous)
