"""What each sample event (events/*.json) needs in a seeded local stack, and the values of its <placeholders>.

Over ~350 lines on purpose: one scene per sample event that needs data of its own, side by side, so a newcomer
finds what `events/<name>.json` expects in one place (events/README.md lists the placeholders).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import requests

from local.apigw import ApiGateway
from local.merchant_keys import local_pay_env, merchant
from local.seed import seed
from local.testing import TestClient, ok
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339
from storeloop.services.pos import signature as pos_signature
from storeloop.wechat.pay import build_notification

EVENTS = Path(__file__).resolve().parents[2] / "events"
STORE = "sh-jingan"  # the demo store every sample event is about
# The people an event acts as: the phrase in `<token of …>` / `<member id of …>` and the demo login it names.
ACTORS = {"a member": "shopper", "an admin": "admin", f"staff at store {STORE}": "clerk",
          f"a manager of store {STORE}": "manager"}

Values = dict[str, str]
REAL_NOW = clock.now
ORDER_TO_PAY = "(the order wechatpay_webhook pays)"  # not a placeholder: the notification is built for it
AT_THE_END = timedelta(minutes=10, seconds=1)  # a campaign that ends in ten minutes has ended
PLACEHOLDER = re.compile(r"<[^<>\"\\]+>")


class World:
    """The demo seed (local/seed.py) in one stack, and builders for the data a sample event names."""

    def __init__(self, cloud: Any, wechat_base: str) -> None:
        self.cloud = cloud
        self.wechat_base = wechat_base
        self.client = TestClient(ApiGateway(cloud))
        self.demo = seed(self.client)
        self.admin = self.demo["admin"]["token"]
        self._n = 0
        self.ahead = timedelta(0)  # how far ahead of now the services' clock runs for the next event (a scene says)
        for product in self.demo["products"]:  # stock for the many orders the scenes place
            self.post(f"/admin/products/{product['sku']}/restock", {"store_id": STORE, "add": 1000}, status=200)

    @contextmanager
    def travel(self, ahead: timedelta) -> Iterator[None]:
        """The services' clock (storeloop.domain.clock.now) runs `ahead` of real time inside the block."""
        with patch.object(clock, "now", lambda: REAL_NOW() + ahead):
            yield

    def unique(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    def login(self, code: str | None = None) -> dict[str, Any]:
        return self.client.login(code or self.unique("sample-member"))

    def as_member(self, who: dict[str, Any], phrase: str = "a member") -> Values:
        return {f"<token of {phrase}>": who["token"], f"<member id of {phrase}>": who["member_id"]}

    def post(self, path: str, body: Any = None, token: str | None = None, status: int = 201) -> Any:
        return ok(self.client.post(path, body, token=token or self.admin), status)

    # ------------------------------------------------------------------ campaigns and coupons
    def template(self, **fields: Any) -> str:
        body = {"name": "满100减20", "kind": "cash_off", "amount_off_fen": 2000, "min_spend_fen": 10000,
                "total_stock": 100, "per_member_limit": 1, "validity": {"type": "relative", "days": 7},
                "channels": ["store", "online"], **fields}
        return str(self.post("/admin/coupon-templates", body)["template_id"])

    def campaign(self, template_ids: list[str] | None = None, *, publish: bool = True,
                 starts_in: timedelta = timedelta(minutes=-1), lasts: timedelta = timedelta(days=7),
                 **fields: Any) -> str:
        start = clock.now() + starts_in
        body = {"name": "双十一", "starts_at": to_rfc3339(start), "ends_at": to_rfc3339(start + lasts),
                "template_ids": template_ids or [self.template()], **fields}
        campaign_id = str(self.post("/admin/campaigns", body)["campaign_id"])
        if publish:
            self.post(f"/admin/campaigns/{campaign_id}/publish", status=200)
        return campaign_id

    def coupon(self, who: dict[str, Any], **template: Any) -> dict[str, Any]:
        template_id = self.template(**template)
        campaign_id = self.campaign([template_id])
        return dict(self.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id},
                              token=who["token"])["coupon"])

    # ------------------------------------------------------------------ orders and payment
    def order(self, who: dict[str, Any], qty: int = 1, sku: str = "latte-m") -> dict[str, Any]:
        body = {"store_id": STORE, "items": [{"sku": sku, "qty": qty}]}
        return dict(self.post("/orders", body, token=who["token"])["order"])

    def pay(self, who: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
        """The shopper pays in the WeChat Pay fake, which notifies the stack (so it can refund the payment too)."""
        sim = requests.post(f"{self.wechat_base}/_sim/pay", json={"order_id": order["order_id"]}, timeout=10)
        assert sim.json().get("status") == 200, sim.text
        paid = ok(self.client.get(f"/orders/{order['order_id']}", token=who["token"]))
        assert paid["status"] == "paid", paid
        return dict(paid)

    def paid_order(self, who: dict[str, Any], qty: int = 1, sku: str = "latte-m") -> dict[str, Any]:
        return self.pay(who, self.order(who, qty, sku))

    def points(self, who: dict[str, Any], at_least: int) -> None:
        """Points for `who`: a paid order of coffee beans (one point per yuan)."""
        self.paid_order(who, qty=-(-at_least // 98), sku="beans-250g")

    def pos_secret(self) -> str:
        return str(self.post(f"/admin/stores/{STORE}/pos-secret")["secret"])


def paid_notification(order: dict[str, Any]) -> tuple[dict[str, str], str]:
    """TRANSACTION.SUCCESS for this order as WeChat Pay sends it, signed with the test platform key."""
    env = local_pay_env()
    resource = {"appid": env["WECHAT_APPID"], "mchid": env["PAY_MCHID"], "out_trade_no": order["order_id"],
                "transaction_id": "42000000" + order["order_id"][-20:], "trade_type": "JSAPI",
                "trade_state": "SUCCESS", "success_time": to_rfc3339(clock.now()), "payer": {"openid": "o_sample"},
                "amount": {"total": order["payable_fen"], "payer_total": order["payable_fen"], "currency": "CNY"}}
    key = merchant().platform_private_key_pem
    return build_notification("TRANSACTION.SUCCESS", resource, env["PAY_APIV3_KEY"], key, env["PAY_PLATFORM_SERIAL"])


def tomorrow() -> str:
    return (clock.now().astimezone(CN_TZ) + timedelta(days=1)).date().isoformat()


def slot(hour: int, minute: int = 0) -> str:
    """A visit slot tomorrow at the demo store (open 10:00-22:00, 30-minute slots)."""
    return f"{tomorrow()}T{hour:02d}:{minute:02d}:00+08:00"


SCENES: dict[str, Callable[[World], Values]] = {}


def scene(*names: str) -> Callable[[Callable[[World], Values]], Callable[[World], Values]]:
    def register(fn: Callable[[World], Values]) -> Callable[[World], Values]:
        for name in names:
            SCENES[name] = fn
        return fn
    return register


def values_for(world: World, name: str) -> Values:
    """The placeholders of events/<name>.json: the demo people, then what the event's scene made."""
    values: Values = {}
    world.ahead = timedelta(0)
    for phrase, login in ACTORS.items():
        values.update(world.as_member(world.demo[login], phrase))
    values["<a date in the coming week>"] = tomorrow()
    if name in SCENES:
        values.update(SCENES[name](world))
    return values


def render(world: World, name: str) -> tuple[dict[str, Any], Values]:
    """events/<name>.json with its placeholders filled in (and signed, for the webhooks), and the values used."""
    values = values_for(world, name)
    text = (EVENTS / f"{name}.json").read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    event = json.loads(text)
    if name.startswith("pos_"):
        _sign_pos(event, values["<store secret>"])
    if name == "wechatpay_webhook":
        _sign_wechatpay(event, values)
    unfilled = PLACEHOLDER.findall(json.dumps(event, ensure_ascii=False))
    assert not unfilled, f"{name}: no value for {unfilled}"
    return event, values


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    event["headers"][name] = value
    event["multiValueHeaders"][name] = [value]


def _sign_pos(event: dict[str, Any], secret: str) -> None:
    timestamp = str(int(time.time()))
    _set_header(event, "X-StoreLoop-Timestamp", timestamp)
    _set_header(event, "X-StoreLoop-Signature", pos_signature(secret, timestamp, event["body"].encode()))


def _sign_wechatpay(event: dict[str, Any], values: Values) -> None:
    headers, body = paid_notification(json.loads(values[ORDER_TO_PAY]))
    for name, value in headers.items():
        _set_header(event, name, value)
    event["body"] = body


# ---------------------------------------------------------------------------------------------- the scenes
def _shopper(world: World) -> dict[str, Any]:
    return dict(world.demo["shopper"])


@scene("claim_coupon", "get_campaign", "campaign_analytics", "create_share", "record_view", "create_entry_code",
       "campaign_go_live", "pause_campaign", "cancel_campaign")
def _live_campaign(world: World) -> Values:
    template_id = world.template()
    return {"<id of a live campaign>": world.campaign([template_id]), "<id of its coupon template>": template_id}


@scene("campaign_notify", "campaign_remind")
def _live_campaign_with_messages(world: World) -> Values:
    return {"<id of a live campaign>": world.campaign(reminder_template_id="9Ov4khE3YpMa1w0Lbp8tsUtcqTJsCpKAxumr4"
                                                                          "Gszb9o")}


@scene("campaign_warm")
def _campaign_with_a_peak(world: World) -> Values:
    return {"<id of a live campaign>": world.campaign(expected_peak_rps=200)}


def _live_campaign_near_its_end(world: World) -> str:
    """A live campaign that ends in ten minutes (its own flow would end it then, long after this test)."""
    campaign_id = world.campaign(lasts=timedelta(minutes=10))
    assert world.cloud.invoke("CampaignGoLiveFunction", {"campaign_id": campaign_id})["status"] == "live"
    return campaign_id


@scene("campaign_end")
def _campaign_at_its_end(world: World) -> Values:
    world.ahead = AT_THE_END  # the event runs when the campaign's end has come
    return {"<id of a live campaign at its end>": _live_campaign_near_its_end(world)}


@scene("campaign_release", "campaign_report")
def _ended_campaign(world: World) -> Values:
    campaign_id = _live_campaign_near_its_end(world)
    with world.travel(AT_THE_END):
        assert world.cloud.invoke("CampaignEndFunction", {"campaign_id": campaign_id})["status"] == "ended"
    world.ahead = AT_THE_END
    return {"<id of an ended campaign>": campaign_id}


@scene("edit_campaign", "publish_campaign")
def _draft_campaign(world: World) -> Values:
    return {"<id of a draft campaign>": world.campaign(publish=False)}


@scene("create_campaign", "edit_coupon_template", "restock_coupon_template", "create_exchange_codes")
def _template(world: World) -> Values:
    return {"<id of a coupon template>": world.template()}


@scene("exchange_code")
def _exchange_code(world: World) -> Values:
    batch = world.post(f"/admin/coupon-templates/{world.template()}/exchange-codes", {"count": 1})
    return {"<an exchange code>": batch["codes"][0]}


@scene("get_scene")
def _entry_code(world: World) -> Values:
    code = world.post(f"/admin/campaigns/{world.campaign()}/entry-codes", {"channel": "store_qr", "store_id": STORE})
    return {"<scene of an entry code>": code["scene"]}


@scene("coupon_qr")
def _coupon(world: World) -> Values:
    return {"<id of an active coupon of the member>": world.coupon(_shopper(world))["coupon_id"]}


@scene("verify_coupon")
def _coupon_to_verify(world: World) -> Values:
    return {"<code of an active coupon>": world.coupon(world.login(), store_ids=[STORE])["code"]}


@scene("reverse_verification")
def _verification(world: World) -> Values:
    code = world.coupon(world.login())["code"]
    clerk = world.demo["clerk"]["token"]
    done = world.post("/verifications", {"code": code, "store_id": STORE, "spend_fen": 12800}, token=clerk)
    return {"<id of a verification at store sh-jingan>": done["verification_id"]}


@scene("cancel_order", "get_order", "expire_order")
def _unpaid_order(world: World) -> Values:
    return {"<id of an unpaid order of the member>": world.order(_shopper(world))["order_id"]}


@scene("wechatpay_webhook")
def _order_to_pay(world: World) -> Values:
    return {ORDER_TO_PAY: json.dumps(world.order(_shopper(world)))}


@scene("pickup_order", "refund_order")
def _paid_order(world: World) -> Values:
    order = world.paid_order(_shopper(world))
    return {"<id of a paid order at store sh-jingan>": order["order_id"],
            "<pickup code of that order>": order["pickup_code"]}


@scene("create_order", "redeem_reward")
def _member_with_points(world: World) -> Values:
    who = world.login()
    world.points(who, 600)
    values = world.as_member(who)
    reward = world.post("/admin/rewards", {"name": "拿铁一杯", "points": 500, "kind": "gift", "sku": "latte-m",
                                           "stock": 10})
    return {**values, "<id of a reward>": reward["reward_id"]}


@scene("get_redemption", "hand_over_gift")
def _gift_redemption(world: World) -> Values:
    values = _member_with_points(world)
    done = world.post(f"/rewards/{values['<id of a reward>']}/redemptions", {"store_id": STORE},
                      token=values["<token of a member>"])
    return {**values, "<id of a gift redemption of the member>": done["redemption_id"],
            "<pickup code of that redemption>": done["pickup_code"]}


@scene("buy_flash_sale")
def _flash_sale(world: World) -> Values:
    start = clock.now() - timedelta(minutes=1)
    sale = world.post("/admin/flash-sales", {"sku": "latte-m", "store_ids": [STORE], "price_fen": 990, "stock": 5,
                                             "per_member_limit": 1, "starts_at": to_rfc3339(start),
                                             "ends_at": to_rfc3339(start + timedelta(days=1))})
    return {"<id of a live flash sale>": sale["flash_sale_id"]}


def _group_buy(world: World) -> str:
    start = clock.now() - timedelta(minutes=1)
    offer = world.post("/admin/group-buys", {"sku": "latte-m", "store_ids": [STORE], "group_size": 3,
                                             "price_fen": 2500, "hours": 24, "starts_at": to_rfc3339(start),
                                             "ends_at": to_rfc3339(start + timedelta(days=1))})
    return str(offer["group_buy_id"])


@scene("get_group_buy", "open_group")
def _live_group_buy(world: World) -> Values:
    return {"<id of a live group buy>": _group_buy(world)}


@scene("get_group", "join_group", "settle_group")
def _open_group(world: World) -> Values:
    group = world.post(f"/group-buys/{_group_buy(world)}/groups", {"store_id": STORE}, token=world.login()["token"])
    return {"<id of an open group>": group["group_id"]}


@scene("book_appointment")
def _free_slot(world: World) -> Values:
    return {"<start of a free slot at store sh-jingan>": slot(14)}


@scene("cancel_appointment", "check_in_appointment")
def _appointment(world: World) -> Values:
    booked = world.post("/appointments", {"store_id": STORE, "slot_start": slot(15)},
                        token=world.demo["shopper"]["token"])
    return {"<id of an appointment of the member>": booked["appointment_id"]}


@scene("get_journey", "update_journey")
def _journey(world: World) -> Values:
    journey = world.post("/admin/journeys", {"name": "新会员礼", "trigger": {"type": "joined"},
                                             "actions": [{"type": "message", "template_id": "Jrn1WelcomeTplId"}]})
    return {"<id of a journey>": journey["journey_id"]}


@scene("get_segment")
def _segment(world: World) -> Values:
    segment = world.post("/admin/segments", {"name": "上海金卡", "rules": {"store_ids": [STORE]}})
    return {"<id of a segment>": segment["segment_id"]}


@scene("list_webhook_deliveries", "resume_webhook_endpoint", "rotate_webhook_secret", "deliver_webhook")
def _webhook_endpoint(world: World) -> Values:
    endpoint = world.post("/admin/webhook-endpoints", {"url": "http://127.0.0.1:9/storeloop-hook",
                                                       "events": ["order.paid"]})
    return {"<id of a webhook endpoint>": endpoint["endpoint_id"]}


@scene("assign_staff")
def _new_staff(world: World) -> Values:
    return {"<member id of a member>": world.login()["member_id"]}


@scene("revoke_staff")
def _staff_to_revoke(world: World) -> Values:
    who = world.login()
    world.post("/admin/staff", {"member_id": who["member_id"], "role": "clerk", "store_ids": [STORE]})
    return {"<member id of a staff member>": who["member_id"]}


@scene("erase_me")
def _member_to_erase(world: World) -> Values:
    return world.as_member(world.login())


@scene("console_scenes")
def _console_login(world: World) -> Values:
    ticket = world.post("/auth/console-tickets", None, token=None)
    return {"<scene of a console login>": ticket["scene"]}


@scene("pos_webhook", "pos_stock")
def _till(world: World) -> Values:
    code = ok(world.client.get("/me/member-code", token=world.demo["shopper"]["token"]))["code"]
    return {"<store secret>": world.pos_secret(), "<code from GET /me/member-code>": code}


@scene("pos_return")
def _till_with_a_sale(world: World) -> Values:
    values = _till(world)
    sale = {"sale_id": "S-1001", "total_fen": 3200, "items": [{"sku": "latte-m", "qty": 1, "price_fen": 3200}],
            "coupon_codes": [], "member_code": values["<code from GET /me/member-code>"],
            "occurred_at": to_rfc3339(clock.now())}
    event = {"headers": {}, "multiValueHeaders": {}, "body": json.dumps(sale)}
    _sign_pos(event, values["<store secret>"])
    resp = world.client.request("POST", f"/webhooks/pos/{STORE}", raw=event["body"].encode(),
                                headers={"Content-Type": "application/json", **event["headers"]})
    assert resp.status == 200, resp.body
    return values
