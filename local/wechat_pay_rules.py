"""What WeChat Pay's merchant API accepts and answers, as the Pay fake (`local.wechat_pay_fake`) checks it: the
JSAPI prepay and refund bodies' rules, the refund answer's shape, and China time as WeChat writes it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

CHINA_TZ = timezone(timedelta(hours=8))
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")


def jsapi_problem(payload: dict[str, Any]) -> str | None:
    """Why a JSAPI prepay body is invalid, or None; the same rules WeChat documents for these fields."""
    for name in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            return f"{name} is required"
    if len(payload["description"]) > 127:
        return "description is longer than 127 characters"
    if not OUT_TRADE_NO.match(payload["out_trade_no"]):
        return "out_trade_no must be 6-32 of 0-9 A-Z a-z _ - | *"
    notify = urlsplit(payload["notify_url"])
    if notify.scheme not in ("http", "https") or not notify.netloc or notify.query:
        return "notify_url must be an absolute http(s) URL without query parameters"
    amount = payload.get("amount")
    if not isinstance(amount, dict) or not positive_int(amount.get("total")):
        return "amount.total must be a positive integer (fen)"
    if amount.get("currency", "CNY") != "CNY":
        return "amount.currency must be CNY"
    payer = payload.get("payer")
    if not isinstance(payer, dict) or not isinstance(payer.get("openid"), str) or not payer["openid"]:
        return "payer.openid is required"
    return None


def refund_problem(payload: dict[str, Any]) -> str | None:
    """Why a refund body is invalid, or None."""
    if not isinstance(payload.get("out_refund_no"), str) or not OUT_REFUND_NO.match(payload["out_refund_no"]):
        return "out_refund_no is required (1-64 of 0-9 A-Z a-z _ - | * @)"
    if not payload.get("out_trade_no") and not payload.get("transaction_id"):
        return "out_trade_no or transaction_id is required"
    amount = payload.get("amount")
    if (
        not isinstance(amount, dict)
        or not positive_int(amount.get("refund"))
        or not positive_int(amount.get("total"))
    ):
        return "amount.refund and amount.total must be positive integers (fen)"
    if amount.get("currency", "CNY") != "CNY":
        return "amount.currency must be CNY"
    if amount["refund"] > amount["total"]:
        return "amount.refund exceeds amount.total"
    reason = payload.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
        return "reason must be a string of at most 80 characters"
    return None


def refund_answer(refund: dict[str, Any]) -> dict[str, Any]:
    return {
        "refund_id": refund["refund_id"],
        "out_refund_no": refund["out_refund_no"],
        "transaction_id": refund["transaction_id"],
        "out_trade_no": refund["out_trade_no"],
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": refund["create_time"],
        "status": refund["status"],
        "funds_account": "AVAILABLE",
        "amount": {
            **refund["amount"],
            "settlement_refund": refund["amount"]["refund"],
            "settlement_total": refund["amount"]["total"],
            "discount_refund": 0,
        },
    }


def positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def china_time(moment: int) -> str:
    return datetime.fromtimestamp(moment, CHINA_TZ).isoformat()
