"""WeChat Pay API v3: the merchant client, notification checks, and the platform-side signing the fake uses.

Longer than our ~350 lines on purpose: it is one protocol, and the merchant side (requests, notification checks)
and the platform side (signing notifications, checking a merchant's signature: the loopback fake and the tests)
are mirror images sharing the same private signing, key and body helpers; split, those helpers would become a
public API of their own for nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import build_authorization

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
# WeChat rejects merchant requests whose timestamp is more than 5 minutes off, and asks merchants to do the same.
TIMESTAMP_TOLERANCE_SECONDS = 300
JSAPI_PATH = "/v3/pay/transactions/jsapi"
REFUND_PATH = "/v3/refund/domestic/refunds"

_CHINA_TZ = timezone(timedelta(hours=8))  # WeChat's timestamps are RFC 3339 in Beijing time
_ALPHANUMERIC = string.ascii_letters + string.digits
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


class WeChatPayError(Exception):
    """A call to WeChat Pay failed: `status` is the HTTP status (None if WeChat was not reached), `code` WeChat's
    error code or one of ours (NETWORK_ERROR, INVALID_RESPONSE, RESPONSE_SIGNATURE_INVALID)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class NotificationRejected(Exception):
    """A notification (or a response) is not provably from WeChat Pay; nothing in it may be acted on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PayConfig:
    """One merchant account; secrets are kept out of repr so a logged config leaks nothing."""

    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    platform_public_key_pem: str
    platform_serial: str  # the platform public key id (PUB_KEY_ID_...), sent back as Wechatpay-Serial
    base_url: str  # "https://api.mch.weixin.qq.com", or the local fake
    notify_url: str
    # More platform keys to trust, serial (PUB_KEY_ID_... or a platform certificate's serial) -> PEM public key:
    # while WeChat rotates its key (or a merchant moves from certificates to public-key mode) notifications and
    # answers come signed by either, so both are trusted until the old one is retired.
    trusted_platform_keys: Mapping[str, str] = field(default_factory=dict)


class WeChatPayClient:
    """Direct-merchant JSAPI (mini-program) payments and refunds, and verification of WeChat's notifications."""

    def __init__(self, config: PayConfig, *, timeout: float = 10.0, session: requests.Session | None = None) -> None:
        if len(config.apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be exactly 32 bytes (AES-256-GCM)")
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        self._timeout = timeout
        # A session keeps the TLS connection to WeChat alive across invocations of a warm Lambda.
        self._http = session or requests.Session()
        self._merchant_key = _load_private_key(config.merchant_private_key_pem)
        self._platform_keys = trusted_keys(config)
        # Public-key mode (public_key + public_key_id) makes the SDK load the keys and stop there; without them
        # its constructor downloads platform certificates from /v3/certificates (a network call per cold start).
        self._sdk = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=config.mchid,
            private_key=config.merchant_private_key_pem,
            cert_serial_no=config.merchant_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=config.notify_url,
            public_key=config.platform_public_key_pem,
            public_key_id=config.platform_serial,
        )

    @property
    def config(self) -> PayConfig:
        return self._config

    def jsapi_prepay(
        self,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        *,
        time_expire: datetime | None = None,
    ) -> str:
        """Create the WeChat transaction for an order and return its prepay_id.

        `time_expire` lets WeChat close the transaction when our own payment window ends, so a shopper cannot
        pay an order we already cancelled.
        """
        _require_positive_fen(amount_fen, "amount_fen")
        payload: dict[str, Any] = {
            "appid": self._config.appid,
            "mchid": self._config.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "notify_url": self._config.notify_url,
            "amount": {"total": amount_fen, "currency": "CNY"},
            "payer": {"openid": payer_openid},
        }
        if time_expire is not None:
            payload["time_expire"] = _rfc3339(time_expire)
        answer = self._post(JSAPI_PATH, payload)
        prepay_id = answer.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayError("prepay answer has no prepay_id", status=200, code="INVALID_RESPONSE")
        return prepay_id

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        """The object the mini-program passes to wx.requestPayment, signed with the merchant key."""
        time_stamp = str(int(time.time()))
        nonce_str = _random_string(32)
        package = f"prepay_id={prepay_id}"
        # The SDK's sign() is pure: RSA-SHA256 over the fields joined and terminated by "\n".
        pay_sign = self._sdk.sign([self._config.appid, time_stamp, nonce_str, package])
        return {
            "appId": self._config.appid,
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }

    def refund(
        self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str
    ) -> dict[str, Any]:
        """Ask WeChat to refund (all or part of) a paid transaction; the outcome arrives as a REFUND.* notification.

        WeChat treats a repeated out_refund_no as the same refund, so retrying after an error is safe.
        """
        _require_positive_fen(refund_fen, "refund_fen")
        _require_positive_fen(total_fen, "total_fen")
        if refund_fen > total_fen:
            raise ValueError("refund_fen exceeds total_fen")
        payload: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "notify_url": self._config.notify_url,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
        }
        if reason:  # WeChat rejects an empty reason but accepts none
            payload["reason"] = reason
        return self._post(REFUND_PATH, payload)

    def parse_notification(
        self, headers: Mapping[str, str], body: str | bytes, now: int | None = None
    ) -> dict[str, Any]:
        """Verify and decrypt a notification POSTed by WeChat Pay.

        Returns {"event_type", "id", "resource"} (resource decrypted); raises NotificationRejected otherwise.
        Done with `cryptography` rather than the SDK's callback(): that one has no timestamp check (replays pass),
        answers an unknown Wechatpay-Serial by downloading certificates over the network (or crashes on a
        non-hex serial), and reports every failure as None or a bare Exception.
        """
        text = _body_text(body)
        _check_platform_signature(_lower_keys(headers), text, self._platform_keys, now)
        try:
            envelope = json.loads(text)
        except ValueError as exc:
            raise NotificationRejected("body is not JSON") from exc
        if not isinstance(envelope, dict):
            raise NotificationRejected("body is not a JSON object")
        event_type, notification_id, resource = envelope.get("event_type"), envelope.get("id"), envelope.get("resource")
        if not isinstance(event_type, str) or not isinstance(notification_id, str) or not isinstance(resource, dict):
            raise NotificationRejected("body lacks event_type, id or resource")
        return {
            "event_type": event_type,
            "id": notification_id,
            "resource": _decrypt_resource(resource, self._config.apiv3_key),
        }

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        # The SDK's own request() is not used: its gateway is hard-coded (no base_url for the local fake), it
        # shares one mutable default headers dict between calls (a race between threads), and a response with an
        # unknown serial makes it fetch certificates. Its build_authorization() is pure and signs exactly `body`.
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Authorization": build_authorization(
                path, "POST", self._config.mchid, self._config.merchant_serial_no, self._merchant_key, data=body
            ),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "storeloop",
            # In public-key mode WeChat wants to know which of its keys we will verify the answer with.
            "Wechatpay-Serial": self._config.platform_serial,
        }
        try:
            response = self._http.post(
                self._base_url + path, data=body.encode("utf-8"), headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise WeChatPayError(f"WeChat Pay unreachable: {type(exc).__name__}", code="NETWORK_ERROR") from exc
        # Decode as UTF-8 ourselves: requests would guess the charset of a JSON answer without one.
        text = response.content.decode("utf-8", errors="replace")
        if not 200 <= response.status_code < 300:
            code, message = "HTTP_ERROR", f"WeChat Pay answered {response.status_code}"
            try:
                error = json.loads(text)
                code = str(error.get("code") or code)
                message = str(error.get("message") or message)
            except (ValueError, AttributeError):
                pass
            raise WeChatPayError(message, status=response.status_code, code=code)
        # Answers are signed like notifications; an unsigned 200 could come from anything between us and WeChat.
        try:
            _check_platform_signature(_lower_keys(response.headers), text, self._platform_keys, None)
        except NotificationRejected as exc:
            raise WeChatPayError(
                f"answer signature invalid: {exc.reason}",
                status=response.status_code,
                code="RESPONSE_SIGNATURE_INVALID",
            ) from exc
        try:
            answer = json.loads(text) if text else {}
        except ValueError as exc:
            raise WeChatPayError("answer is not JSON", status=response.status_code, code="INVALID_RESPONSE") from exc
        if not isinstance(answer, dict):
            raise WeChatPayError("answer is not a JSON object", status=response.status_code, code="INVALID_RESPONSE")
        return answer


def platform_signature_headers(
    body: str, platform_private_key_pem: str, platform_serial: str, now: int | None = None
) -> dict[str, str]:
    """The Wechatpay-* headers WeChat puts on a notification or an answer carrying `body` (for the fake)."""
    timestamp = str(int(time.time()) if now is None else now)
    nonce = _random_string(32)
    message = f"{timestamp}\n{nonce}\n{body}\n".encode()
    signature = _load_private_key(platform_private_key_pem).sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": base64.b64encode(signature).decode("ascii"),
        "Wechatpay-Serial": platform_serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def build_notification(
    event_type: str,
    resource: dict[str, Any],
    apiv3_key: str,
    platform_private_key_pem: str,
    platform_serial: str,
    now: int | None = None,
) -> tuple[dict[str, str], str]:
    """A notification exactly as WeChat Pay sends it: resource encrypted, body signed with the platform key."""
    moment = int(time.time()) if now is None else now
    original_type = "refund" if event_type.startswith("REFUND.") else "transaction"
    nonce = _random_string(12)  # AES-GCM's 96-bit nonce, which WeChat writes as 12 ASCII characters
    ciphertext = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"),
        json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        original_type.encode("ascii"),
    )
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": datetime.fromtimestamp(moment, _CHINA_TZ).isoformat(),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功"}.get(event_type, event_type),
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    headers = platform_signature_headers(body, platform_private_key_pem, platform_serial, moment)
    headers["Content-Type"] = "application/json"
    return headers, body


def verify_merchant_request(
    method: str,
    path_with_query: str,
    body: str | bytes,
    authorization_header: str | None,
    merchant_public_key_pem: str,
    now: int | None = None,
    *,
    expected_mchid: str | None = None,
    expected_serial_no: str | None = None,
) -> bool:
    """Check a merchant's v3 Authorization header the way WeChat's gateway does (for the fake)."""
    if not authorization_header:
        return False
    scheme, _, params_text = authorization_header.strip().partition(" ")
    if scheme != SIGNATURE_TYPE:
        return False
    params = dict(_AUTH_PARAM.findall(params_text))
    required = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
    if any(not params.get(name) for name in required):
        return False
    if expected_mchid is not None and params["mchid"] != expected_mchid:
        return False
    if expected_serial_no is not None and params["serial_no"] != expected_serial_no:
        return False
    try:
        timestamp = int(params["timestamp"])
    except ValueError:
        return False
    if abs((int(time.time()) if now is None else now) - timestamp) > TIMESTAMP_TOLERANCE_SECONDS:
        return False
    try:
        text = _body_text(body)
    except NotificationRejected:
        return False
    message = f"{method.upper()}\n{path_with_query}\n{params['timestamp']}\n{params['nonce_str']}\n{text}\n"
    return _rsa_verifies(_load_public_key(merchant_public_key_pem), params["signature"], message)


def trusted_keys(config: PayConfig) -> dict[str, rsa.RSAPublicKey]:
    """Every platform key the merchant trusts, by serial: the primary one and `trusted_platform_keys`."""
    keys = {config.platform_serial: _load_public_key(config.platform_public_key_pem)}
    for serial, pem in config.trusted_platform_keys.items():
        keys[str(serial)] = _load_public_key(pem)
    return keys


def _check_platform_signature(
    headers: dict[str, str], body: str, trusted: Mapping[str, rsa.RSAPublicKey], now: int | None
) -> None:
    """Raise NotificationRejected unless the platform key signed `body` recently; `headers` has lower-case keys."""
    names = ("wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial")
    missing = [name for name in names if not headers.get(name)]
    if missing:
        raise NotificationRejected(f"missing header(s): {', '.join(missing)}")
    signature_type = headers.get("wechatpay-signature-type")
    if signature_type and signature_type != SIGNATURE_TYPE:
        raise NotificationRejected(f"unsupported signature type {signature_type}")
    # Only the configured keys are trusted; a serial we do not know is a rotation we have not deployed, or a forgery.
    public_key = trusted.get(headers["wechatpay-serial"])
    if public_key is None:
        raise NotificationRejected("unknown Wechatpay-Serial")
    try:
        timestamp = int(headers["wechatpay-timestamp"])
    except ValueError as exc:
        raise NotificationRejected("Wechatpay-Timestamp is not an integer") from exc
    if abs((int(time.time()) if now is None else now) - timestamp) > TIMESTAMP_TOLERANCE_SECONDS:
        raise NotificationRejected("Wechatpay-Timestamp outside the 300 s window")
    message = f"{headers['wechatpay-timestamp']}\n{headers['wechatpay-nonce']}\n{body}\n"
    if not _rsa_verifies(public_key, headers["wechatpay-signature"], message):
        raise NotificationRejected("signature does not verify")


def _decrypt_resource(resource: dict[str, Any], apiv3_key: str) -> dict[str, Any]:
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise NotificationRejected("resource algorithm is not AEAD_AES_256_GCM")
    nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
    associated_data = resource.get("associated_data") or ""
    if not isinstance(nonce, str) or not isinstance(ciphertext, str) or not isinstance(associated_data, str):
        raise NotificationRejected("resource lacks nonce or ciphertext")
    try:
        plaintext = AESGCM(apiv3_key.encode("utf-8")).decrypt(
            nonce.encode("utf-8"), base64.b64decode(ciphertext, validate=True), associated_data.encode("utf-8")
        )
        decrypted = json.loads(plaintext.decode("utf-8"))
    except (InvalidTag, binascii.Error, ValueError) as exc:  # ValueError covers bad nonce length and bad JSON
        raise NotificationRejected("resource does not decrypt with the APIv3 key") from exc
    if not isinstance(decrypted, dict):
        raise NotificationRejected("decrypted resource is not a JSON object")
    return decrypted


def _rsa_verifies(public_key: rsa.RSAPublicKey, signature_b64: str, message: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@lru_cache(maxsize=8)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    # Cached: loading validates the RSA key, which is slow enough to matter per request.
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("WeChat Pay keys are RSA")
    return key


@lru_cache(maxsize=8)
def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("WeChat Pay keys are RSA")
    return key


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    # HTTP header names are case-insensitive; API Gateway, requests and http.server each spell them differently.
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _body_text(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotificationRejected("body is not UTF-8") from exc


def _random_string(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("time_expire must be timezone-aware")
    return moment.astimezone(_CHINA_TZ).isoformat(timespec="seconds")


def _require_positive_fen(value: int, name: str) -> None:
    # bool is an int subclass; True fen is a bug, not one fen.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer number of fen")
