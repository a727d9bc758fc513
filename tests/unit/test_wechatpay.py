"""Unit tests for the WeChat Pay v3 client, notification verification and the Pay fake, over loopback only."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from local.merchant_keys import KEYS_DIR, load_test_pay_config, merchant
from local.wechat_pay_fake import PayFake
from storeloop.wechat.pay import (
    NotificationRejected,
    PayConfig,
    WeChatPayClient,
    WeChatPayError,
    build_notification,
    verify_merchant_request,
)

# storeloop (shared/) and local/ are importable through pyproject.toml's pytest pythonpath.
PAY = merchant(KEYS_DIR)
MERCHANT_PRIVATE_PEM = PAY.merchant_private_key_pem
MERCHANT_PUBLIC_PEM = PAY.merchant_public_key_pem
PLATFORM_PRIVATE_PEM = PAY.platform_private_key_pem
PLATFORM_PUBLIC_PEM = PAY.platform_public_key_pem
# The registered notify_url looks like production's; the fake's resolver sends it to the test server instead.
REGISTERED_NOTIFY_URL = "https://storeloop.example/webhooks/wechatpay"
NOW = 1_750_000_000

PAID = {
    "appid": PAY.appid,
    "mchid": PAY.mchid,
    "out_trade_no": "ORD20250101000001",
    "transaction_id": "4200000000000000000000000001",
    "trade_state": "SUCCESS",
    "amount": {"total": 1990, "payer_total": 1990, "currency": "CNY"},
    "payer": {"openid": "o-test-openid"},
    "success_time": "2025-06-15T23:06:40+08:00",
}


def _config(**overrides: str) -> PayConfig:
    return replace(
        load_test_pay_config(KEYS_DIR, base_url="http://127.0.0.1:9", notify_url=REGISTERED_NOTIFY_URL), **overrides
    )


@pytest.fixture(scope="module")
def client() -> WeChatPayClient:
    # Module-scoped: the client is stateless, and loading its RSA key costs tens of milliseconds.
    return WeChatPayClient(_config())


def _notification(resource: dict[str, Any] | None = None, **kwargs: Any) -> tuple[dict[str, str], str]:
    args: dict[str, Any] = {
        "apiv3_key": PAY.apiv3_key,
        "platform_private_key_pem": PLATFORM_PRIVATE_PEM,
        "platform_serial": PAY.platform_serial,
        "now": NOW,
    }
    args.update(kwargs)
    return build_notification("TRANSACTION.SUCCESS", resource or PAID, **args)


# --- construction ------------------------------------------------------------------------------------------------


def test_client_construction_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network is off in unit tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    WeChatPayClient(_config())
    assert attempts == []


def test_client_refuses_an_apiv3_key_that_is_not_32_bytes() -> None:
    with pytest.raises(ValueError):
        WeChatPayClient(_config(apiv3_key="too-short"))


def test_config_repr_hides_secrets() -> None:
    text = repr(_config())
    assert PAY.apiv3_key not in text
    assert "PRIVATE KEY" not in text


# --- payment params ----------------------------------------------------------------------------------------------


def test_payment_params_are_signed_with_the_merchant_key(client: WeChatPayClient) -> None:
    params = client.payment_params("wx2025prepay")
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["appId"] == PAY.appid
    assert params["package"] == "prepay_id=wx2025prepay"
    assert params["signType"] == "RSA"
    assert params["timeStamp"].isdigit()
    public_key = serialization.load_pem_public_key(MERCHANT_PUBLIC_PEM.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    signed = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    signature = base64.b64decode(params["paySign"])
    public_key.verify(signature, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):  # the same signature does not cover another prepay_id
        public_key.verify(
            signature, signed.replace("wx2025prepay", "wx2025other").encode(), padding.PKCS1v15(), hashes.SHA256()
        )


# --- notifications -----------------------------------------------------------------------------------------------


def test_notification_round_trip(client: WeChatPayClient) -> None:
    headers, body = _notification()
    parsed = client.parse_notification(headers, body, now=NOW)
    assert parsed == {"event_type": "TRANSACTION.SUCCESS", "id": json.loads(body)["id"], "resource": PAID}
    assert PAID["out_trade_no"] not in body  # the resource travels encrypted


def test_notification_headers_are_looked_up_case_insensitively(client: WeChatPayClient) -> None:
    headers, body = _notification()
    lowered = {name.lower(): value for name, value in headers.items()}
    assert client.parse_notification(lowered, body.encode(), now=NOW)["resource"] == PAID


@pytest.mark.parametrize("offset", [-300, 300])
def test_notification_timestamp_at_the_edge_of_the_window_is_accepted(client: WeChatPayClient, offset: int) -> None:
    headers, body = _notification()
    assert client.parse_notification(headers, body, now=NOW + offset)["event_type"] == "TRANSACTION.SUCCESS"


def _forged() -> tuple[dict[str, str], str]:
    # Signed by a key that is not the platform's (the merchant's), under the platform's serial.
    return _notification(platform_private_key_pem=MERCHANT_PRIVATE_PEM)


def _tampered() -> tuple[dict[str, str], str]:
    headers, body = _notification()
    return headers, body.replace("TRANSACTION.SUCCESS", "REFUND.SUCCESS")


def _wrong_serial() -> tuple[dict[str, str], str]:
    headers, body = _notification()
    return {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000"}, body


def _wrong_apiv3_key() -> tuple[dict[str, str], str]:
    # Correctly signed, but the resource was encrypted under another APIv3 key.
    return _notification(apiv3_key="K" * 32)


def _garbled_ciphertext() -> tuple[dict[str, str], str]:
    headers, body = _notification()
    envelope = json.loads(body)
    envelope["resource"]["ciphertext"] = base64.b64encode(b"\x00" * 64).decode()
    body = json.dumps(envelope, separators=(",", ":"))
    return _resign(headers, body)


def _resign(headers: dict[str, str], body: str) -> tuple[dict[str, str], str]:
    key = serialization.load_pem_private_key(PLATFORM_PRIVATE_PEM.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{body}\n".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {**headers, "Wechatpay-Signature": base64.b64encode(signature).decode()}, body


@pytest.mark.parametrize(
    ("make", "now", "reason"),
    [
        (_forged, NOW, "signature"),
        (_notification, NOW + 301, "window"),  # stale
        (_notification, NOW - 301, "window"),  # from the future
        (_tampered, NOW, "signature"),
        (_wrong_serial, NOW, "Wechatpay-Serial"),
        (_wrong_apiv3_key, NOW, "decrypt"),
        (_garbled_ciphertext, NOW, "decrypt"),
    ],
    ids=["forged", "stale", "future", "tampered-body", "wrong-serial", "wrong-apiv3-key", "garbled-ciphertext"],
)
def test_notification_is_rejected(
    client: WeChatPayClient, make: Callable[[], tuple[dict[str, str], str]], now: int, reason: str
) -> None:
    headers, body = make()
    with pytest.raises(NotificationRejected) as rejected:
        client.parse_notification(headers, body, now=now)
    assert reason in rejected.value.reason


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"]
)
def test_notification_missing_a_header_is_rejected(client: WeChatPayClient, missing: str) -> None:
    headers, body = _notification()
    del headers[missing]
    with pytest.raises(NotificationRejected) as rejected:
        client.parse_notification(headers, body, now=NOW)
    assert missing.lower() in rejected.value.reason


def test_notification_with_a_malformed_signature_is_rejected(client: WeChatPayClient) -> None:
    headers, body = _notification()
    with pytest.raises(NotificationRejected):
        client.parse_notification({**headers, "Wechatpay-Signature": "not base64!"}, body, now=NOW)


# --- the fake behind a loopback HTTP server ----------------------------------------------------------------------


@dataclass
class Loopback:
    """A stdlib HTTP server serving the Pay fake plus a webhook that parses notifications with the client."""

    fake: PayFake
    client: WeChatPayClient
    base_url: str
    received: list[dict[str, Any]] = field(default_factory=list)  # every request the fake was sent
    notifications: list[dict[str, Any]] = field(default_factory=list)  # parsed by the webhook
    rejections: list[str] = field(default_factory=list)


class _Server:
    """A stdlib HTTP server on a free loopback port; each test installs its own Loopback state in it."""

    def __init__(self) -> None:
        self.state: Loopback | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                state = server.state
                assert state is not None
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/webhooks/wechatpay":
                    try:
                        state.notifications.append(state.client.parse_notification(dict(self.headers), body.decode()))
                        self._answer(200, {}, b"")
                    except NotificationRejected as exc:
                        state.rejections.append(exc.reason)
                        self._answer(401, {"Content-Type": "application/json"}, b'{"code":"FAIL","message":"bad"}')
                    return
                state.received.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                answer = state.fake.handle(self.command, self.path, dict(self.headers), body)
                self._answer(*(answer or (404, {}, b"")))

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.client = WeChatPayClient(_config(base_url=self.base_url))
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(2)


@pytest.fixture(scope="module")
def _server() -> Iterator[_Server]:
    server = _Server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def loopback(_server: _Server) -> Iterator[Loopback]:
    base_url = _server.base_url
    fake = PayFake(
        KEYS_DIR,
        lambda registered: base_url + "/webhooks/wechatpay" if registered == REGISTERED_NOTIFY_URL else registered,
        sync_delivery=True,
    )
    _server.state = Loopback(fake, _server.client, base_url)  # a fresh fake: no test sees another's data
    try:
        yield _server.state
    finally:
        _server.state = None


def test_jsapi_prepay_returns_a_prepay_id_and_the_fake_records_the_transaction(loopback: Loopback) -> None:
    prepay_id = loopback.client.jsapi_prepay("ORD20250101000001", "StoreLoop pickup order", 1990, "o-test-openid")
    assert prepay_id.startswith("wx")
    [txn] = loopback.fake.transactions()
    assert txn["out_trade_no"] == "ORD20250101000001"
    assert txn["amount_total"] == 1990
    assert txn["payer_openid"] == "o-test-openid"
    assert txn["notify_url"] == REGISTERED_NOTIFY_URL
    assert (txn["appid"], txn["mchid"], txn["prepay_id"]) == (PAY.appid, PAY.mchid, prepay_id)
    # The same order again is the same transaction.
    assert (
        loopback.client.jsapi_prepay("ORD20250101000001", "StoreLoop pickup order", 1990, "o-test-openid") == prepay_id
    )


def test_unsigned_prepay_is_refused_with_401(loopback: Loopback) -> None:
    body = {
        "appid": PAY.appid,
        "mchid": PAY.mchid,
        "description": "x",
        "out_trade_no": "ORD20250101000002",
        "notify_url": REGISTERED_NOTIFY_URL,
        "amount": {"total": 1},
        "payer": {"openid": "o-test-openid"},
    }
    answer = requests.post(loopback.base_url + "/v3/pay/transactions/jsapi", json=body, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"
    assert loopback.fake.transactions() == []


def test_a_request_signed_over_another_body_is_refused_with_401(loopback: Loopback) -> None:
    loopback.client.jsapi_prepay("ORD20250101000003", "StoreLoop pickup order", 1990, "o-test-openid")
    signed = loopback.received[-1]
    altered = signed["body"].replace(b"1990", b"1")
    answer = requests.post(
        loopback.base_url + signed["path"],
        data=altered,
        headers={"Authorization": signed["headers"]["Authorization"], "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "SIGN_ERROR"


def test_verify_merchant_request_accepts_the_clients_signature_and_rejects_alterations(loopback: Loopback) -> None:
    loopback.client.jsapi_prepay("ORD20250101000004", "StoreLoop pickup order", 500, "o-test-openid")
    request = loopback.received[-1]
    auth, body, path = request["headers"]["Authorization"], request["body"], request["path"]
    timestamp = int(dict(part.split("=", 1) for part in auth.split(" ", 1)[1].split(","))["timestamp"].strip('"'))

    def check(
        method: str = "POST",
        target: str = path,
        payload: bytes = body,
        header: str | None = auth,
        key: str = MERCHANT_PUBLIC_PEM,
        now: int = timestamp,
    ) -> bool:
        return verify_merchant_request(
            method,
            target,
            payload,
            header,
            key,
            now,
            expected_mchid=PAY.mchid,
            expected_serial_no=PAY.merchant_serial_no,
        )

    assert check()
    assert not check(header=None)  # unsigned
    assert not check(payload=body.replace(b"500", b"5"))  # altered body
    assert not check(target=path + "?x=1")  # altered path
    assert not check(method="GET")
    assert not check(key=PLATFORM_PUBLIC_PEM)  # signed by someone else
    assert not check(header=auth.replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA1024"))
    assert not check(now=timestamp + 301)  # replayed later
    assert not verify_merchant_request(
        "POST", path, body, auth, MERCHANT_PUBLIC_PEM, timestamp, expected_serial_no="0000"
    )


def test_simulated_payment_delivers_a_notification_the_client_accepts(loopback: Loopback) -> None:
    loopback.client.jsapi_prepay("ORD20250101000005", "StoreLoop pickup order", 1990, "o-test-openid")
    answer = requests.post(loopback.base_url + "/_sim/pay", json={"order_id": "ORD20250101000005"}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["delivered"] is True and answer.json()["status"] == 200
    assert loopback.rejections == []
    [note] = loopback.notifications
    assert note["event_type"] == "TRANSACTION.SUCCESS"
    resource = note["resource"]
    assert resource["out_trade_no"] == "ORD20250101000005"
    assert resource["trade_state"] == "SUCCESS"
    assert resource["amount"] == {"total": 1990, "payer_total": 1990, "currency": "CNY", "payer_currency": "CNY"}
    assert resource["payer"] == {"openid": "o-test-openid"}
    assert (resource["appid"], resource["mchid"]) == (PAY.appid, PAY.mchid)
    assert resource["transaction_id"] == answer.json()["transaction_id"]


def test_simulated_payment_can_claim_another_amount_and_unknown_orders_are_404(loopback: Loopback) -> None:
    loopback.client.jsapi_prepay("ORD20250101000006", "StoreLoop pickup order", 1990, "o-test-openid")
    paid = requests.post(
        loopback.base_url + "/_sim/pay", json={"order_id": "ORD20250101000006", "amount_fen": 1}, timeout=5
    )
    assert paid.status_code == 200
    assert loopback.notifications[-1]["resource"]["amount"]["total"] == 1
    unknown = requests.post(loopback.base_url + "/_sim/pay", json={"order_id": "NOPE000000"}, timeout=5)
    assert unknown.status_code == 404


def test_refund_is_answered_processing_then_notified_as_success(loopback: Loopback) -> None:
    loopback.client.jsapi_prepay("ORD20250101000007", "StoreLoop pickup order", 1990, "o-test-openid")
    requests.post(loopback.base_url + "/_sim/pay", json={"order_id": "ORD20250101000007"}, timeout=5)
    answer = loopback.client.refund("ORD20250101000007", "RF20250101000007", 1990, 1990, "changed my mind")
    assert answer["status"] == "PROCESSING"
    assert answer["out_refund_no"] == "RF20250101000007"
    assert answer["refund_id"]
    refund_note = loopback.notifications[-1]
    assert refund_note["event_type"] == "REFUND.SUCCESS"
    assert refund_note["resource"]["refund_status"] == "SUCCESS"
    assert refund_note["resource"]["refund_id"] == answer["refund_id"]
    assert refund_note["resource"]["amount"] == {
        "total": 1990,
        "refund": 1990,
        "payer_total": 1990,
        "payer_refund": 1990,
    }
    listing = requests.get(loopback.base_url + "/_sim/pay/transactions", timeout=5).json()["transactions"]
    assert listing[0]["refunds"][0]["status"] == "SUCCESS"
    with pytest.raises(WeChatPayError) as refused:  # nothing is left to refund
        loopback.client.refund("ORD20250101000007", "RF20250101000008", 1, 1990, "again")
    assert (refused.value.status, refused.value.code) == (400, "INVALID_REQUEST")


def test_refund_notification_is_delivered_after_the_answer_by_default(loopback: Loopback) -> None:
    # A generous delay keeps "not delivered yet" true on a slow machine.
    loopback.fake = PayFake(KEYS_DIR, lambda _: loopback.base_url + "/webhooks/wechatpay", refund_delivery_delay=0.3)
    loopback.client.jsapi_prepay("ORD20250101000009", "StoreLoop pickup order", 300, "o-test-openid")
    requests.post(loopback.base_url + "/_sim/pay", json={"order_id": "ORD20250101000009"}, timeout=5)
    loopback.client.refund("ORD20250101000009", "RF20250101000009", 100, 300, "")
    assert [n["event_type"] for n in loopback.notifications] == ["TRANSACTION.SUCCESS"]
    assert loopback.fake.wait_for_deliveries(2.0)
    assert [n["event_type"] for n in loopback.notifications] == ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]


def test_wechat_errors_become_wechatpay_errors(loopback: Loopback) -> None:
    stranger = WeChatPayClient(_config(base_url=loopback.base_url, appid="wx0000000000000000"))
    with pytest.raises(WeChatPayError) as refused:
        stranger.jsapi_prepay("ORD20250101000010", "StoreLoop pickup order", 1990, "o-test-openid")
    assert (refused.value.status, refused.value.code) == (400, "APPID_MCHID_NOT_MATCH")


def test_an_answer_not_signed_by_the_trusted_platform_key_is_an_error(loopback: Loopback) -> None:
    doubting = WeChatPayClient(_config(base_url=loopback.base_url, platform_serial="PUB_KEY_ID_0000"))
    with pytest.raises(WeChatPayError) as refused:
        doubting.jsapi_prepay("ORD20250101000011", "StoreLoop pickup order", 1990, "o-test-openid")
    assert refused.value.code == "RESPONSE_SIGNATURE_INVALID"


def test_unreachable_wechat_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    offline = WeChatPayClient(_config(base_url=f"http://127.0.0.1:{port}"), timeout=1.0)
    with pytest.raises(WeChatPayError) as refused:
        offline.jsapi_prepay("ORD20250101000012", "StoreLoop pickup order", 1990, "o-test-openid")
    assert (refused.value.status, refused.value.code) == (None, "NETWORK_ERROR")


def test_non_pay_paths_are_left_to_the_rest_of_the_fake() -> None:
    fake = PayFake(KEYS_DIR, None)
    assert fake.handle("GET", "/sns/jscode2session?appid=x", {}, b"") is None
    assert fake.handle("GET", "/_sim/messages", {}, b"") is None
    status, _, _ = fake.handle("GET", "/_sim/pay/transactions", {}, b"") or (0, {}, b"")
    assert status == 200
