"""Logs carry ids only: every log line of a whole loop (login, consent, subscribe, claim, QR, member code, messages
sent, failed and refused, export, erase, a refused token) holds no openid, phone number or token."""

from __future__ import annotations

import logging
import re
import sys
from datetime import timedelta

import pytest

from local.cloud import ADMIN_OPENID
from local.wechat_fake import openid_for
from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from storeloop.services import messages
from storeloop.settings import get_settings

TEMPLATE = "9Ov4khE3YpMa1w0Lbp8tsUtcqTJsCpKAxumr4Gszb9o"
PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")  # a mainland mobile number, standing alone
# The fake of WeChat's own servers logs its request lines (with their access_token query): it stands for WeChat,
# not for StoreLoop, so its records are not StoreLoop's logs.
NOT_OURS = ("local.wechat_fake",)
# The AWS SDK's DEBUG lines (request ids, checksums, signatures) are checked for secrets, but full of digit runs
# that look like phone numbers.
SDK = ("botocore", "boto3", "urllib3", "moto")
STANDARD = set(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__) | {"message", "asctime"}


@pytest.fixture
def all_logs(caplog, capsys):
    """Everything logged, at DEBUG: records reaching the root logger (caplog), and the Powertools JSON lines the
    `storeloop` logger writes to stdout (capsys; its handler holds the stdout of import time, so it is pointed at
    the captured one for the test). Returns (StoreLoop's own lines, everything including the AWS SDK's)."""
    powertools = logging.getLogger("storeloop")
    saved_level = powertools.level
    streams = [(h, h.stream) for h in powertools.handlers if isinstance(h, logging.StreamHandler)]
    assert streams, "the Powertools logger has no stream handler to capture"
    for handler, _ in streams:
        handler.stream = sys.stdout
    powertools.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)

    def text() -> tuple[str, str]:
        out = capsys.readouterr()
        ours, sdk = [out.out, out.err], []
        for r in caplog.records:
            if r.name.startswith(NOT_OURS):
                continue
            extra = {k: v for k, v in r.__dict__.items() if k not in STANDARD}
            line = f"{r.name} {r.getMessage()} {extra} {r.exc_text or ''}"
            (sdk if r.name.startswith(SDK) else ours).append(line)
        return "\n".join(ours), "\n".join(ours + sdk)

    yield text
    powertools.setLevel(saved_level)
    for handler, stream in streams:
        handler.stream = stream  # not setStream: it would flush the captured stdout, closed by now


def test_a_whole_loop_logs_no_openid_phone_or_token(cloud, client, actors, wechat, all_logs):
    wechat.msg.reset()
    logging.getLogger("storeloop").info("capture check", extra={"canary": "CANARY-7f3a"})
    admin = actors.admin["token"]
    actors.store("s1")
    template = client.post("/admin/coupon-templates", {
        "name": "¥10 off", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 10,
        "validity": {"type": "relative", "days": 7}}, token=admin).json()["template_id"]
    starts = clock.now() - timedelta(minutes=1)
    campaign = client.post("/admin/campaigns", {"name": "Double 11", "starts_at": to_rfc3339(starts),
                                                "ends_at": to_rfc3339(starts + timedelta(days=1)),
                                                "template_ids": [template]}, token=admin).json()["campaign_id"]
    assert client.post(f"/admin/campaigns/{campaign}/publish", token=admin).status == 200

    secrets = {ADMIN_OPENID, admin}
    assert client.post("/auth/login", {"code": "bad-code"}).status == 401
    who = actors.member("log-shopper")
    token, m = who["token"], who["member_id"]
    secrets |= {openid_for("log-shopper"), token}
    assert client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["marketing_messages"]},
                       token=token).status == 201
    assert client.post("/me/consents", {"policy_version": "2026-11", "scopes": ["newsletter"], "phone": "13812345678"},
                       token=token).status == 400
    assert client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept", "t2": "reject"}},
                       token=token).status == 200
    claim = client.post(f"/campaigns/{campaign}/claims", {"template_id": template}, token=token)
    assert claim.status == 201, claim.body
    coupon = claim.json()["coupon"]
    qr = client.get(f"/me/coupons/{coupon['coupon_id']}/qr", token=token)
    assert qr.status == 200
    code = client.get("/me/member-code", token=token)
    assert code.status == 200
    secrets |= {qr.json()["qr"], code.json()["code"]}

    settings = get_settings().model_copy(update={"message_queue_url": cloud.ref("OutboundMessagesQueue")})
    wechat.msg.fail_sends(1)  # one failure, retried
    messages.enqueue_message(m, TEMPLATE, {"thing1": "到店礼"}, "pages/index", "campaign_notify", settings=settings)
    cloud.drain_queues()
    wechat.msg.expire_tokens()  # a refreshed token
    assert client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept"}}, token=token).status == 200
    messages.enqueue_message(m, TEMPLATE, {"thing1": "到店礼"}, None, "reminder", settings=settings)
    cloud.drain_queues()
    wechat.msg.reject_openid(openid_for("log-shopper"))  # 43101
    assert client.post("/me/message-subscriptions", {"results": {TEMPLATE: "accept"}}, token=token).status == 200
    messages.enqueue_message(m, TEMPLATE, {"thing1": "到店礼"}, None, "reminder", settings=settings)
    cloud.drain_queues()
    assert len(wechat.msg.messages()) == 2
    secrets |= set(wechat.msg._tokens)  # every access token WeChat issued

    assert client.get("/me/export", token=token).status == 200
    assert client.delete("/me", token=token).status == 200
    assert client.get("/me/export", token=token).status == 401
    again = actors.member("log-shopper")
    secrets.add(again["token"])

    ours, everything = all_logs()
    # The capture works, and ids are what the logs carry.
    assert "CANARY-7f3a" in ours
    assert "message sent" in ours and m in ours and "message dropped" in ours
    leaks = sorted(s[:12] + "…" for s in secrets if s and s in everything)
    assert leaks == [], f"secrets in the logs: {leaks}"
    assert "13812345678" not in everything
    assert PHONE.findall(ours) == []
