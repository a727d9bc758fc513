"""The WeChat Pay half of the fake WeChat server: signed JSAPI prepay and refunds, and simulated shopper payments."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from local.merchant_keys import KEYS_DIR, merchant
from local.wechat_pay_rules import CHINA_TZ, china_time, jsapi_problem, refund_answer, refund_problem
from storeloop.wechat.pay import (
    JSAPI_PATH,
    REFUND_PATH,
    build_notification,
    platform_signature_headers,
    verify_merchant_request,
)

Response = tuple[int, dict[str, str], bytes]

# Long enough for the refund request's answer to leave first, as with the real WeChat, short enough for tests.
REFUND_DELIVERY_DELAY_SECONDS = 0.05



class PayFake:
    """WeChat Pay's merchant API as the StoreLoop backend uses it, signing and encrypting with the test keys.

    `notify_url_resolver` maps the notify_url a merchant registered to where the fake should POST (e.g. to a test
    server's port); by default notifications go to the registered URL. With `sync_delivery` refund notifications
    are delivered before the refund request is answered, which keeps tests free of sleeps.
    Thread-safe: the HTTP server calling `handle` may be threaded.
    """

    def __init__(
        self,
        keys_dir: str | Path = KEYS_DIR,
        notify_url_resolver: Callable[[str], str] | None = None,
        *,
        sync_delivery: bool = False,
        refund_delivery_delay: float = REFUND_DELIVERY_DELAY_SECONDS,
        delivery_timeout: float = 10.0,
    ) -> None:
        keys = merchant(keys_dir)
        self.mchid: str = keys.mchid
        self.appid: str = keys.appid
        self._merchant_serial_no: str = keys.merchant_serial_no
        self._platform_serial: str = keys.platform_serial
        self._apiv3_key: str = keys.apiv3_key
        self._merchant_public_key_pem = keys.merchant_public_key_pem
        self._platform_private_key_pem = keys.platform_private_key_pem
        self._resolve = notify_url_resolver or (lambda url: url)
        self._sync_delivery = sync_delivery
        self._refund_delivery_delay = refund_delivery_delay
        self._delivery_timeout = delivery_timeout
        self._lock = threading.Lock()
        self._transactions: dict[str, dict[str, Any]] = {}  # by out_trade_no
        self._refunds: dict[str, dict[str, Any]] = {}  # by out_refund_no
        self._deliveries: list[dict[str, Any]] = []
        self._pending: list[threading.Thread] = []

    def rotate_platform_key(self, private_key_pem: str, serial: str) -> tuple[str, str]:
        """Sign from now on with another platform key, as WeChat Pay does when it rotates its key (or a merchant
        moves from platform certificates to a public key); the previous (PEM, serial), to rotate back."""
        with self._lock:
            previous = (self._platform_private_key_pem, self._platform_serial)
            self._platform_private_key_pem, self._platform_serial = private_key_pem, serial
        return previous

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        """Answer one request; `path` is the request target as received (path and query). None: not a Pay path."""
        route = urlsplit(path).path
        if not (route.startswith(("/v3/", "/_sim/pay/")) or route == "/_sim/pay"):
            return None
        verb = method.upper()
        lowered = {str(name).lower(): str(value) for name, value in headers.items()}
        if verb == "POST" and route == JSAPI_PATH:
            return self._signed_call(path, lowered, body, self._jsapi)
        if verb == "POST" and route == REFUND_PATH:
            return self._signed_call(path, lowered, body, self._refund)
        if verb == "POST" and route == "/_sim/pay":
            return self._sim_pay(body)
        if verb == "GET" and route == "/_sim/pay/transactions":
            return _json(200, {"transactions": self.transactions()})
        if verb == "GET" and route == "/_sim/pay/deliveries":
            return _json(200, {"deliveries": self.deliveries()})
        if route.startswith("/v3/"):
            return self._wechat_error(404, "NOT_FOUND", f"{verb} {route} is not offered by the fake")
        return _json(404, {"code": "NOT_FOUND", "message": f"{verb} {route} is not offered by the fake"})

    def transactions(self) -> list[dict[str, Any]]:
        """Every transaction so far, with its refunds (a snapshot)."""
        with self._lock:
            return [
                {**txn, "refunds": [dict(self._refunds[no]) for no in txn["refunds"]]}
                for txn in self._transactions.values()
            ]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every notification POSTed so far: event_type, out_trade_no, url and the webhook's status or error."""
        with self._lock:
            return [dict(entry) for entry in self._deliveries]

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        """Block until background refund notifications are delivered; False if some are still pending."""
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._pending = [thread for thread in self._pending if thread.is_alive()]
            return not self._pending

    # --- WeChat Pay's merchant API -------------------------------------------------------------------------------

    def _signed_call(
        self,
        path: str,
        headers: dict[str, str],
        body: bytes,
        operation: Callable[[dict[str, Any]], Response],
    ) -> Response:
        # The gateway checks the merchant signature before it looks at the body, as WeChat's does.
        if not verify_merchant_request(
            "POST",
            path,
            body,
            headers.get("authorization"),
            self._merchant_public_key_pem,
            expected_mchid=self.mchid,
            expected_serial_no=self._merchant_serial_no,
        ):
            return self._wechat_error(401, "SIGN_ERROR", "签名错误 (merchant signature missing or invalid)")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._wechat_error(400, "PARAM_ERROR", "body is not JSON")
        if not isinstance(payload, dict):
            return self._wechat_error(400, "PARAM_ERROR", "body is not a JSON object")
        return operation(payload)

    def _jsapi(self, payload: dict[str, Any]) -> Response:
        problem = jsapi_problem(payload)
        if problem:
            return self._wechat_error(400, "PARAM_ERROR", problem)
        if payload["mchid"] != self.mchid:
            return self._wechat_error(400, "MCH_NOT_EXISTS", "mchid is not the signing merchant")
        if payload["appid"] != self.appid:
            return self._wechat_error(400, "APPID_MCHID_NOT_MATCH", "appid is not bound to this mchid")
        terms = {
            "appid": payload["appid"],
            "mchid": payload["mchid"],
            "description": payload["description"],
            "amount_total": payload["amount"]["total"],
            "notify_url": payload["notify_url"],
            "payer_openid": payload["payer"]["openid"],
        }
        out_trade_no = payload["out_trade_no"]
        with self._lock:
            existing = self._transactions.get(out_trade_no)
            if existing is not None:
                # WeChat answers a repeated identical order with the same prepay_id and refuses a changed one.
                if existing["trade_state"] == "SUCCESS":
                    return self._wechat_error(400, "ORDERPAID", "该订单已支付")
                if any(existing[name] != value for name, value in terms.items()):
                    return self._wechat_error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
                return self._wechat_answer(200, {"prepay_id": existing["prepay_id"]})
            prepay_id = "wx" + datetime.now(CHINA_TZ).strftime("%d%H%M%S") + secrets.token_hex(13)
            self._transactions[out_trade_no] = {
                "out_trade_no": out_trade_no,
                **terms,
                "currency": "CNY",
                "time_expire": payload.get("time_expire"),
                "prepay_id": prepay_id,
                "trade_state": "NOTPAY",
                "transaction_id": None,
                "success_time": None,
                "refunds": [],
            }
        return self._wechat_answer(200, {"prepay_id": prepay_id})

    def _refund(self, payload: dict[str, Any]) -> Response:
        problem = refund_problem(payload)
        if problem:
            return self._wechat_error(400, "PARAM_ERROR", problem)
        out_refund_no = payload["out_refund_no"]
        amount = payload["amount"]
        with self._lock:
            txn = self._find_transaction(payload.get("out_trade_no"), payload.get("transaction_id"))
            if txn is None:
                return self._wechat_error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            existing = self._refunds.get(out_refund_no)
            if existing is not None:
                # A repeated out_refund_no is the same refund: same answer, no second notification.
                if existing["out_trade_no"] != txn["out_trade_no"] or existing["amount"]["refund"] != amount["refund"]:
                    return self._wechat_error(400, "INVALID_REQUEST", "out_refund_no already used for another refund")
                return self._wechat_answer(200, refund_answer(existing))
            if txn["trade_state"] != "SUCCESS":
                return self._wechat_error(400, "INVALID_REQUEST", "transaction is not paid")
            if amount["total"] != txn["amount_total"]:
                return self._wechat_error(400, "INVALID_REQUEST", "amount.total does not match the transaction")
            refunded = sum(self._refunds[no]["amount"]["refund"] for no in txn["refunds"])
            if refunded + amount["refund"] > txn["amount_total"]:
                return self._wechat_error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            refund = {
                "refund_id": "50" + "".join(secrets.choice("0123456789") for _ in range(27)),
                "out_refund_no": out_refund_no,
                "transaction_id": txn["transaction_id"],
                "out_trade_no": txn["out_trade_no"],
                "reason": payload.get("reason"),
                "notify_url": payload.get("notify_url") or txn["notify_url"],
                "status": "PROCESSING",
                "create_time": china_time(int(time.time())),
                "success_time": None,
                "amount": {
                    "total": txn["amount_total"],
                    "refund": amount["refund"],
                    "payer_total": txn["amount_total"],
                    "payer_refund": amount["refund"],
                    "currency": "CNY",
                },
            }
            self._refunds[out_refund_no] = refund
            txn["refunds"].append(out_refund_no)
            answer = refund_answer(refund)
        if self._sync_delivery:
            self._complete_refund(out_refund_no)
        else:
            thread = threading.Thread(target=self._complete_refund_later, args=(out_refund_no,), daemon=True)
            with self._lock:
                self._pending.append(thread)
            thread.start()
        return self._wechat_answer(200, answer)

    def _complete_refund_later(self, out_refund_no: str) -> None:
        time.sleep(self._refund_delivery_delay)
        self._complete_refund(out_refund_no)

    def _complete_refund(self, out_refund_no: str) -> None:
        now = int(time.time())
        with self._lock:
            refund = self._refunds[out_refund_no]
            refund["status"] = "SUCCESS"
            refund["success_time"] = china_time(now)
            resource = {
                "mchid": self.mchid,
                "out_trade_no": refund["out_trade_no"],
                "transaction_id": refund["transaction_id"],
                "out_refund_no": out_refund_no,
                "refund_id": refund["refund_id"],
                "refund_status": "SUCCESS",
                "success_time": refund["success_time"],
                "user_received_account": "支付用户零钱",
                "amount": {name: refund["amount"][name] for name in ("total", "refund", "payer_total", "payer_refund")},
            }
            notify_url = refund["notify_url"]
        self._deliver("REFUND.SUCCESS", resource, notify_url, now)

    # --- simulation endpoints ------------------------------------------------------------------------------------

    def _sim_pay(self, body: bytes) -> Response:
        try:
            request = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _json(400, {"code": "BAD_REQUEST", "message": "body is not JSON"})
        if not isinstance(request, dict) or not isinstance(request.get("order_id"), str):
            return _json(400, {"code": "BAD_REQUEST", "message": 'expected {"order_id": "<out_trade_no>"}'})
        override = request.get("amount_fen")
        if override is not None and (isinstance(override, bool) or not isinstance(override, int) or override <= 0):
            return _json(400, {"code": "BAD_REQUEST", "message": "amount_fen must be a positive integer"})
        now = int(time.time())
        with self._lock:
            txn = self._transactions.get(request["order_id"])
            if txn is None:
                return _json(404, {"code": "NOT_FOUND", "message": "no transaction with that out_trade_no"})
            # Paying again re-sends the success of the same transaction, as WeChat's retries do.
            if txn["trade_state"] != "SUCCESS":
                txn["trade_state"] = "SUCCESS"
                txn["transaction_id"] = "4200" + "".join(secrets.choice("0123456789") for _ in range(24))
                txn["success_time"] = china_time(now)
            paid = txn["amount_total"] if override is None else override
            resource = {
                "appid": txn["appid"],
                "mchid": txn["mchid"],
                "out_trade_no": txn["out_trade_no"],
                "transaction_id": txn["transaction_id"],
                "trade_type": "JSAPI",
                "trade_state": "SUCCESS",
                "trade_state_desc": "支付成功",
                "bank_type": "OTHERS",
                "attach": "",
                "success_time": txn["success_time"],
                "payer": {"openid": txn["payer_openid"]},
                "amount": {"total": paid, "payer_total": paid, "currency": "CNY", "payer_currency": "CNY"},
            }
            notify_url = txn["notify_url"]
        outcome = self._deliver("TRANSACTION.SUCCESS", resource, notify_url, now)
        if "status" not in outcome:
            return _json(502, {"delivered": False, "error": outcome["error"]})
        return _json(
            200, {"delivered": True, "status": outcome["status"], "transaction_id": resource["transaction_id"]}
        )

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _find_transaction(self, out_trade_no: Any, transaction_id: Any) -> dict[str, Any] | None:
        if isinstance(transaction_id, str) and transaction_id:
            return next((t for t in self._transactions.values() if t["transaction_id"] == transaction_id), None)
        return self._transactions.get(out_trade_no) if isinstance(out_trade_no, str) else None

    def _deliver(self, event_type: str, resource: dict[str, Any], notify_url: str, now: int) -> dict[str, Any]:
        # Called without the lock held: the webhook may well call back into this fake.
        headers, body = build_notification(
            event_type, resource, self._apiv3_key, self._platform_private_key_pem, self._platform_serial, now
        )
        url = self._resolve(notify_url)
        entry: dict[str, Any] = {"event_type": event_type, "out_trade_no": resource["out_trade_no"], "url": url}
        try:
            answer = requests.post(url, data=body.encode("utf-8"), headers=headers, timeout=self._delivery_timeout)
            entry["status"] = answer.status_code
        except requests.RequestException as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._deliveries.append(entry)
        return entry

    def _wechat_answer(self, status: int, payload: dict[str, Any]) -> Response:
        # Real answers are signed with the platform key; the client verifies 2xx answers.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = platform_signature_headers(body, self._platform_private_key_pem, self._platform_serial)
        headers["Content-Type"] = "application/json"
        headers["Request-ID"] = secrets.token_hex(16)
        return status, headers, body.encode("utf-8")

    def _wechat_error(self, status: int, code: str, message: str) -> Response:
        return self._wechat_answer(status, {"code": code, "message": message})


def _json(status: int, payload: dict[str, Any]) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode("utf-8")
