"""`make demo`: the whole loop against a running `make run`, walked as HQ, shoppers and store staff would walk it.

HQ creates a coupon template, a product and a short campaign (live in ~2 s, over ~10 s later) and publishes it;
shoppers log in, consent, subscribe to the campaign's messages and claim coupons; Alice books a visit, is checked in
and her coupon verified by the clerk; Bob orders online, pays through the WeChat Pay fake and picks up; Carol pays
at the till (a signed POS webhook) with her coupon and earns points; the campaign's launch message and Bob's
reminder arrive at the WeChat fake; the campaign ends and its unclaimed stock is released; then the campaign's
funnel and the store's day are printed as tables.

Each step prints one line; a failure says which step and why (HTTP status and error code) and exits 1. Only the
standard library: it is a client, as the mini-program, the staff app and the till are. Login codes carry a run id,
so the demo runs again against the same `make run`. Ports: STORELOOP_API_PORT (3000), STORELOOP_WECHAT_PORT (3001).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from local.demo_client import CST, Failure, Http, expect, poll, rfc3339, table, yuan

STORE = "sh-jingan"  # demo data of `make run` (local/seed.py)
CLERK_CODE = "demo-clerk"  # clerk at sh-jingan
CAMPAIGN_STARTS_IN = timedelta(seconds=2)
CAMPAIGN_LASTS = timedelta(seconds=10)  # the reminder goes halfway through a campaign this short
WIDTH = 52


class Demo:
    def __init__(self, api: str, wechat: str, out: Callable[[str], None] = print) -> None:
        self.api = Http(api)
        self.wechat = Http(wechat)
        self.out = out
        self.n = 0
        self.run = time.strftime("%H%M%S") + f"{os.getpid() % 1000:03d}"
        self.message_template = f"StoreLoopDemoCampaignMessage-{self.run}"  # the campaign's subscription message

    # ---------------------------------------------------------------- plumbing
    def step(self, title: str, action: Callable[[], tuple[Any, str]]) -> Any:
        self.n += 1
        try:
            value, detail = action()
        except Failure as exc:
            raise StepFailed(self.n, title, str(exc)) from None
        self.out(f"[{self.n:2}] {title.ljust(WIDTH, '.')} {detail}")
        return value

    def login(self, code: str) -> dict[str, Any]:
        return expect(200, self.api.call("POST", "/auth/login", {"code": code}), f"login {code}")

    # ---------------------------------------------------------------- the loop
    def main(self) -> None:
        a = self.api
        self.step("the local cloud answers", lambda: (expect(200, a.call("GET", "/health"), "GET /health"),
                                                      f"{a.base} (run {self.run})"))
        admin = self.step("HQ admin logs in", self._admin_login)["token"]
        self.step("the demo store is there", lambda: (expect(200, a.call("GET", f"/stores/{STORE}", token=admin),
                                                             f"GET /stores/{STORE} (demo data of `make run`)"),
                                                      STORE))
        template = self.step("admin creates a coupon template", lambda: self._template(admin))
        sku = self.step("admin adds a product to the store", lambda: self._product(admin))
        alice, bob, carol = self.step("shoppers log in", self._shoppers)
        self.step("Alice and Bob consent to marketing messages", lambda: self._consent(alice, bob))
        self.step("they subscribe to the campaign's messages", lambda: self._subscribe(alice, bob))
        campaign = self.step("admin creates a campaign", lambda: self._campaign(admin, template))
        cid = campaign["campaign_id"]
        self.step("admin publishes it", lambda: self._publish(admin, cid))
        self.step("the campaign goes live", lambda: self._live(admin, cid))
        coupons = self.step("shoppers claim coupons", lambda: self._claim(cid, template, (alice, bob, carol)))
        appointment = self.step("Alice books a visit with her coupon", lambda: self._book(alice, coupons[0]))
        clerk = self.login(CLERK_CODE)["token"]
        self.step("the clerk checks Alice in", lambda: self._check_in(clerk, appointment))
        self.step("the clerk verifies Alice's coupon", lambda: self._verify(clerk, coupons[0]))
        order = self.step("Bob orders online for pickup", lambda: self._order(bob, sku))
        pickup_code = self.step("Bob pays with WeChat Pay", lambda: self._pay(bob, order))
        self.step("the clerk hands the order over", lambda: self._pickup(clerk, order, pickup_code))
        self.step("Carol pays at the till with her coupon", lambda: self._pos_sale(admin, carol, sku, coupons[2]))
        self.step("the launch message reaches Alice and Bob", lambda: self._messages(cid, 2))
        self.step("Bob is reminded of his unused coupon", lambda: self._messages(cid, 3))
        self.step("the campaign ends, its unclaimed stock released", lambda: self._ended(admin, cid))
        for title, report in (("campaign funnel", lambda: self._funnel(admin, campaign)),
                              ("the store's day", lambda: self._store_day(admin))):
            printed = self.step(title, report)
            if printed:
                self.out(printed)
        self.out(f"done: the loop ran end to end (campaign {cid}).")

    # ---------------------------------------------------------------- steps
    def _admin_login(self) -> tuple[dict[str, Any], str]:
        who = self.login("admin")
        if "admin" not in who.get("roles", []):
            raise Failure("the code `admin` did not log in as an admin (ADMIN_OPENIDS)")
        return who, f"roles {', '.join(who['roles'])}"

    def _template(self, admin: str) -> tuple[str, str]:
        body = {"name": "到店立减 ¥10", "kind": "cash_off", "amount_off_fen": 1000, "min_spend_fen": 3000,
                "total_stock": 100, "per_member_limit": 1, "validity": {"type": "relative", "days": 7},
                "channels": ["store", "online"], "store_ids": []}
        made = expect(201, self.api.call("POST", "/admin/coupon-templates", body, admin),
                      "POST /admin/coupon-templates")
        return made["template_id"], f"{made['template_id']}: ¥10 off ¥30, 100 units"

    def _product(self, admin: str) -> tuple[str, str]:
        sku = f"demo-latte-{self.run}"
        body = {"sku": sku, "name": "拿铁", "price_fen": 2900, "stock": {STORE: 20}}
        expect(201, self.api.call("POST", "/admin/products", body, admin), "POST /admin/products")
        return sku, f"{sku} ¥29.00, 20 at {STORE}"

    def _shoppers(self) -> tuple[tuple[dict, dict, dict], str]:
        people = tuple(self.login(f"demo-{name}-{self.run}") for name in ("alice", "bob", "carol"))
        return people, ", ".join(p["member_id"] for p in people)  # type: ignore[return-value]

    def _consent(self, *people: dict[str, Any]) -> tuple[None, str]:
        for who in people:
            expect(201, self.api.call("POST", "/me/consents", {"policy_version": "2026-11",
                                                               "scopes": ["marketing_messages"]}, who["token"]),
                   "POST /me/consents")
        return None, "policy 2026-11: marketing_messages"

    def _subscribe(self, alice: dict[str, Any], bob: dict[str, Any]) -> tuple[None, str]:
        # wx.requestSubscribeMessage answers once per tap: each accept is one message. Bob accepts twice.
        for who, times in ((alice, 1), (bob, 2)):
            for _ in range(times):
                expect(200, self.api.call("POST", "/me/message-subscriptions",
                                          {"results": {self.message_template: "accept"}}, who["token"]),
                       "POST /me/message-subscriptions")
        return None, "Alice 1 message, Bob 2"

    def _campaign(self, admin: str, template: str) -> tuple[dict[str, Any], str]:
        starts = datetime.now(CST) + CAMPAIGN_STARTS_IN
        body = {"name": f"周末快闪 {self.run}", "starts_at": rfc3339(starts),
                "ends_at": rfc3339(starts + CAMPAIGN_LASTS), "template_ids": [template],
                "reminder_template_id": self.message_template}
        made = expect(201, self.api.call("POST", "/admin/campaigns", body, admin), "POST /admin/campaigns")
        return made, f"{made['campaign_id']}: {made['starts_at'][11:19]} → {made['ends_at'][11:19]}"

    def _publish(self, admin: str, cid: str) -> tuple[None, str]:
        done = expect(200, self.api.call("POST", f"/admin/campaigns/{cid}/publish", token=admin), "publish")
        return None, done["status"]

    def _status(self, token: str, cid: str) -> dict[str, Any]:
        return expect(200, self.api.call("GET", f"/campaigns/{cid}", token=token), f"GET /campaigns/{cid}")

    def _live(self, admin: str, cid: str) -> tuple[None, str]:
        poll(lambda: self._status(admin, cid)["status"] == "live", 15, "the campaign did not go live")
        return None, "live"

    def _claim(self, cid: str, template: str, people: Sequence[dict[str, Any]]) -> tuple[list[dict], str]:
        coupons = [expect(201, self.api.call("POST", f"/campaigns/{cid}/claims", {"template_id": template},
                                             who["token"]), "POST /campaigns/{id}/claims")["coupon"]
                   for who in people]
        return coupons, "Alice, Bob, Carol: " + ", ".join(c["code"] for c in coupons)

    def _book(self, alice: dict[str, Any], coupon: dict[str, Any]) -> tuple[str, str]:
        soon = datetime.now(CST) + timedelta(minutes=5)
        for day in (soon.date(), soon.date() + timedelta(days=1)):
            slots = expect(200, self.api.call("GET", f"/stores/{STORE}/slots?date={day.isoformat()}",
                                              token=alice["token"]), "GET /stores/{id}/slots")["slots"]
            free = [s for s in slots if s["remaining"] > 0 and datetime.fromisoformat(s["start"]) > soon]
            if free:
                body = {"store_id": STORE, "slot_start": free[0]["start"], "coupon_id": coupon["coupon_id"]}
                booked = expect(201, self.api.call("POST", "/appointments", body, alice["token"]),
                                "POST /appointments")
                return booked["appointment_id"], f"{STORE} {free[0]['start'][:16].replace('T', ' ')}"
        raise Failure(f"no free slot at {STORE} today or tomorrow")

    def _check_in(self, clerk: str, appointment_id: str) -> tuple[None, str]:
        done = expect(200, self.api.call("POST", f"/appointments/{appointment_id}/check-in", token=clerk),
                      "POST /appointments/{id}/check-in")
        return None, done["status"]

    def _verify(self, clerk: str, coupon: dict[str, Any]) -> tuple[None, str]:
        done = expect(201, self.api.call("POST", "/verifications", {"code": coupon["code"], "store_id": STORE,
                                                                    "spend_fen": 5600}, clerk), "POST /verifications")
        return None, f"redeemed, {yuan(done['discount_fen'])} off a ¥56.00 bill"

    def _order(self, bob: dict[str, Any], sku: str) -> tuple[str, str]:
        body = {"store_id": STORE, "items": [{"sku": sku, "qty": 2}]}
        placed = expect(201, self.api.call("POST", "/orders", body, bob["token"],
                                           headers={"Idempotency-Key": f"demo-order-{self.run}"}), "POST /orders")
        order = placed["order"]
        return order["order_id"], f"{order['order_id']}: 2 x 拿铁, {yuan(order['payable_fen'])} to pay"

    def _pay(self, bob: dict[str, Any], order_id: str) -> tuple[str, str]:
        expect(200, self.wechat.call("POST", "/_sim/pay", {"order_id": order_id}), "POST <wechat>/_sim/pay")

        def paid() -> dict[str, Any] | None:
            order = expect(200, self.api.call("GET", f"/orders/{order_id}", token=bob["token"]), "GET /orders/{id}")
            return order if order["status"] == "paid" else None
        order = poll(paid, 10, "the payment notification did not mark the order paid")
        return order["pickup_code"], f"paid, pickup code {order['pickup_code']}"

    def _pickup(self, clerk: str, order_id: str, pickup_code: str) -> tuple[None, str]:
        done = expect(200, self.api.call("POST", f"/orders/{order_id}/pickup", {"pickup_code": pickup_code}, clerk),
                      "POST /orders/{id}/pickup")
        return None, done["status"]

    def _pos_sale(self, admin: str, carol: dict[str, Any], sku: str, coupon: dict[str, Any]) -> tuple[None, str]:
        secret = expect(201, self.api.call("POST", f"/admin/stores/{STORE}/pos-secret", token=admin),
                        "POST /admin/stores/{id}/pos-secret")["secret"]
        member_code = expect(200, self.api.call("GET", "/me/member-code", token=carol["token"]),
                             "GET /me/member-code")["code"]
        sale = {"sale_id": f"demo-{self.run}", "member_code": member_code, "total_fen": 5800,
                "items": [{"sku": sku, "qty": 2, "price_fen": 2900}], "coupon_codes": [coupon["code"]],
                "occurred_at": rfc3339(datetime.now(CST))}
        raw = json.dumps(sale).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        answer = expect(200, self.api.call("POST", f"/webhooks/pos/{STORE}", raw=raw, headers={
            "X-StoreLoop-Timestamp": stamp, "X-StoreLoop-Signature": signature}), "POST /webhooks/pos/{store_id}")
        if coupon["code"] not in answer.get("coupons_redeemed", []):
            raise Failure(f"the till did not redeem Carol's coupon: {answer.get('coupons_rejected')}")
        return None, f"¥58.00, {answer['points_earned']} points, coupon redeemed"

    def _messages(self, cid: str, count: int) -> tuple[None, str]:
        def arrived() -> list[dict[str, Any]] | None:
            found = expect(200, self.wechat.call("GET", f"/_sim/messages?template_id={self.message_template}"),
                           "GET <wechat>/_sim/messages")["items"]
            mine = [m for m in found if cid in (m.get("page") or "")]
            return mine if len(mine) >= count else None
        mine = poll(arrived, 15, f"fewer than {count} campaign messages reached the WeChat fake (the campaign flow's "
                                 "tasks queue them; SendMessageFunction sends them)")
        last = mine[count - 1]["data"]
        return None, f"{len(mine)} sent so far; latest: {last['thing1']['value']} / {last['thing3']['value']}"

    def _ended(self, admin: str, cid: str) -> tuple[None, str]:
        def released() -> dict[str, Any] | None:
            shown = self._status(admin, cid)
            done = shown["status"] == "ended" and all(t["remaining"] == 0 for t in shown["templates"])
            return shown if done else None
        shown = poll(released, 25, "the campaign did not end with its stock released")
        return None, f"ended; remaining stock {sum(t['remaining'] for t in shown['templates'])}"

    def _analytics(self, admin: str, path: str) -> dict[str, Any] | None:
        status, body = self.api.call("GET", path, token=admin)
        if status == 404 and "route" in str((body or {}).get("error", {}).get("message", "")):
            return None  # the analytics routes are not in this stack's template yet
        return expect(200, (status, body), f"GET {path.split('?')[0]}")

    def _funnel(self, admin: str, campaign: dict[str, Any]) -> tuple[str, str]:
        cid = campaign["campaign_id"]
        path = f"/admin/analytics/campaigns/{cid}"
        # Counters follow the events through the table's stream: give them a moment to catch up.
        deadline = time.monotonic() + 10
        funnel = self._analytics(admin, path)
        while funnel is not None and funnel["redeemed"] < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
            funnel = self._analytics(admin, path)
        if funnel is None:
            return "", "skipped: GET /admin/analytics/campaigns/{id} is not in this stack yet"
        lines = [f"    Campaign funnel: {campaign['name']} ({cid})",
                 table(["claimed", "redeemed", "rate", "new members", "orders", "revenue", "repeat buyers 30d"],
                       [[funnel["claimed"], funnel["redeemed"], f"{funnel['redemption_rate']:.1%}",
                         funnel["new_members"], funnel["orders"], yuan(funnel["revenue_fen"]),
                         funnel["repeat_buyers_30d"]]])]
        if funnel.get("by_store"):
            lines.append(table(["by store", "redeemed", "new members", "orders", "revenue"],
                               [[s["store_id"], s["redeemed"], s["new_members"], s["orders"],
                                 yuan(s["revenue_fen"])] for s in funnel["by_store"]]))
        return "\n".join(lines), f"claimed {funnel['claimed']}, redeemed {funnel['redeemed']}"

    def _store_day(self, admin: str) -> tuple[str, str]:
        today = datetime.now(CST).date().isoformat()
        day = self._analytics(admin, f"/admin/analytics/stores/{STORE}?from={today}&to={today}")
        if day is None:
            return "", "skipped: GET /admin/analytics/stores/{id} is not in this stack yet"
        lines = table(["date", "visits", "redemptions", "orders", "revenue", "new members"],
                      [[d["date"], d["visits"], d["redemptions"], d["orders"], yuan(d["revenue_fen"]),
                        d["new_members"]] for d in day["days"]])
        return lines, f"{STORE}, {today}"


class StepFailed(Exception):
    def __init__(self, n: int, title: str, reason: str) -> None:
        super().__init__(f"step {n} ({title}) failed: {reason}")


def main() -> int:
    host = os.environ.get("STORELOOP_HOST", "127.0.0.1")
    api = f"http://{host}:{os.environ.get('STORELOOP_API_PORT', '3000')}"
    wechat = f"http://{host}:{os.environ.get('STORELOOP_WECHAT_PORT', '3001')}"
    try:
        Demo(api, wechat, out=lambda line: print(line, flush=True)).main()
    except StepFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
