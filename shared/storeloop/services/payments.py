"""WeChat Pay for orders: the merchant client from settings, prepay, refunds, and reading notifications."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from storeloop.errors import UpstreamUnavailable
from storeloop.settings import Settings
from storeloop.wechat.pay import NotificationRejected, PayConfig, WeChatPayClient, WeChatPayError

__all__ = ["NotificationRejected", "PayNotification", "client", "configured", "parse_notification", "prepay",
           "require_configured", "send_refund"]

logger = Logger(service="storeloop", child=True)
_lock = threading.Lock()
_clients: dict[int, tuple[Settings, WeChatPayClient]] = {}


def configured(settings: Settings) -> bool:
    """Whether this function was given a whole WeChat Pay merchant (ids, both keys, the APIv3 key, notify URL)."""
    return all((settings.pay_mchid, settings.pay_merchant_serial_no, settings.pay_merchant_private_key,
                settings.pay_platform_serial, settings.pay_platform_public_key, settings.pay_notify_url)) \
        and len(settings.pay_apiv3_key.encode()) == 32


def require_configured(settings: Settings) -> None:
    if not configured(settings):
        logger.error("WeChat Pay is not configured: PAY_* settings or the WeChatSecret keys are missing")
        raise UpstreamUnavailable("payments are not available right now")


def client(settings: Settings) -> WeChatPayClient:
    """One client per settings object (so per cold start): it holds the parsed keys and a kept-alive session."""
    cached = _clients.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    with _lock:
        config = PayConfig(
            mchid=settings.pay_mchid, appid=settings.wechat_appid,
            merchant_serial_no=settings.pay_merchant_serial_no,
            merchant_private_key_pem=settings.pay_merchant_private_key, apiv3_key=settings.pay_apiv3_key,
            platform_public_key_pem=settings.pay_platform_public_key, platform_serial=settings.pay_platform_serial,
            base_url=settings.pay_base_url, notify_url=settings.pay_notify_url,
            trusted_platform_keys=settings.pay_platform_keys,
        )
        made = WeChatPayClient(config, timeout=5.0)
        _clients.clear()  # settings change only when the local cloud starts a new stack
        _clients[id(settings)] = (settings, made)
        return made


def prepay(settings: Settings, order_id: str, description: str, amount_fen: int, openid: str,
           expires: datetime) -> dict[str, str]:
    """Create the WeChat transaction for an order; the signed object for wx.requestPayment."""
    pay = client(settings)
    try:
        prepay_id = pay.jsapi_prepay(order_id, description, amount_fen, openid, time_expire=expires)
    except WeChatPayError as exc:
        raise UpstreamUnavailable(f"WeChat Pay refused or failed the prepay ({exc.code})") from None
    return pay.payment_params(prepay_id)


def send_refund(settings: Settings, order_id: str, out_refund_no: str, amount_fen: int, reason: str) -> str | None:
    """Ask WeChat to refund the whole payment. Safe to repeat: WeChat treats one out_refund_no as one refund.
    Returns WeChat's refund_id; UpstreamUnavailable when WeChat could not be reached or refused."""
    try:
        answer = client(settings).refund(order_id, out_refund_no, amount_fen, amount_fen, reason[:80])
    except WeChatPayError as exc:
        raise UpstreamUnavailable(f"WeChat Pay refused or failed the refund ({exc.code})") from None
    refund_id = answer.get("refund_id")
    return refund_id if isinstance(refund_id, str) else None


@dataclass(frozen=True)
class PayNotification:
    """A verified, decrypted notification: `kind` "payment" or "refund", or "other" for an event we do not act on."""

    notification_id: str
    event_type: str
    kind: str
    out_trade_no: str | None
    resource: dict[str, Any]


def parse_notification(settings: Settings, headers: Mapping[str, str], body: str | bytes) -> PayNotification:
    """Verify (platform key named by Wechatpay-Serial, timestamp within 5 minutes) and decrypt; NotificationRejected
    otherwise. The merchant checks (mchid, appid, amount against the order) are the caller's, against its order."""
    if not configured(settings):
        # Nothing can be verified without the keys: refuse (WeChat retries until the deployment is fixed).
        logger.error("WeChat Pay is not configured: a notification could not be verified")
        raise NotificationRejected("WeChat Pay is not configured here")
    parsed = client(settings).parse_notification(headers, body)
    event_type = parsed["event_type"]
    resource = parsed["resource"]
    kind = "payment" if event_type.startswith("TRANSACTION.") else "refund" if event_type.startswith("REFUND.") \
        else "other"
    out_trade_no = resource.get("out_trade_no")
    return PayNotification(parsed["id"], event_type, kind, out_trade_no if isinstance(out_trade_no, str) else None,
                           resource)
