"""The merchant console in a real browser (headless Chromium) against `python -m local`."""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.xdist_group("browser")  # one local cloud and one Chromium for the whole module
CHINA = timezone(timedelta(hours=8))


def test_the_local_server_serves_the_console_with_its_types_and_spa_routes(stack: dict[str, Any]) -> None:
    base = stack["base"]
    with urllib.request.urlopen(f"{base}/console/") as resp:
        index = resp.read().decode()
        assert resp.headers["Content-Type"].startswith("text/html")
    script = index.split('src="')[1].split('"')[0]
    assert script.startswith("/console/assets/") and script.endswith(".js")
    with urllib.request.urlopen(base + script) as resp:
        assert resp.headers["Content-Type"].startswith("text/javascript")
        assert "immutable" in resp.headers["Cache-Control"]
    with urllib.request.urlopen(f"{base}/console/store/sh-jingan") as resp:  # an app route: index.html
        assert resp.read().decode() == index
    with urllib.request.urlopen(f"{base}/console/config.json") as resp:
        assert resp.headers["Content-Type"] == "application/json"
        assert b'"local": true' in resp.read()
    status, _ = stack["http"].call("GET", "/console/assets/nope.js")
    assert status == 404
    status, _ = stack["http"].call("GET", "/console/..%2F..%2Ftemplate.yaml")
    assert status == 404


def _china_date(offset_days: int = 0) -> str:
    return (datetime.now(CHINA) + timedelta(days=offset_days)).strftime("%Y-%m-%d")


def _store_day_data(stack: dict[str, Any], suffix: str) -> dict[str, Any]:
    """Through the API as shoppers and staff would: a booked visit, a paid order waiting, a verification."""
    http, pay = stack["http"], stack["wechat"]
    admin, clerk = http.login("admin"), http.login("demo-clerk")
    shopper = http.login(f"day-shopper-{suffix}")
    visit_date = None
    for offset in (0, 1):  # late in the China day no slot is left: tomorrow's then
        slots = http.ok("GET", f"/stores/sh-jingan/slots?date={_china_date(offset)}", token=shopper)["slots"]
        free = [s for s in slots if s["remaining"] > 0 and s["start"] > datetime.now(CHINA).isoformat()]
        if free:
            visit_date = _china_date(offset)
            appointment = http.ok("POST", "/appointments", {"store_id": "sh-jingan", "slot_start": free[0]["start"]},
                                  token=shopper, status=201)
            break
    assert visit_date, "no free slot today or tomorrow at sh-jingan"
    order = http.ok("POST", "/orders", {"store_id": "sh-jingan", "items": [{"sku": "latte-m", "qty": 2}]},
                    token=shopper, status=201)["order"]
    pay.ok("POST", "/_sim/pay", {"order_id": order["order_id"]})
    deadline = time.time() + 15
    while (paid := http.ok("GET", f"/orders/{order['order_id']}", token=shopper))["status"] != "paid":
        assert time.time() < deadline, paid
        time.sleep(0.1)
    now = datetime.now(CHINA)
    template = http.ok("POST", "/admin/coupon-templates", {
        "name": f"到店立减{suffix}", "kind": "cash_off", "amount_off_fen": 500, "min_spend_fen": 0, "total_stock": 10,
        "per_member_limit": 1, "validity": {"type": "relative", "days": 7}, "channels": ["store"], "store_ids": []},
        token=admin, status=201)
    campaign = http.ok("POST", "/admin/campaigns", {
        "name": f"到店活动{suffix}", "starts_at": now.isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=1)).isoformat(timespec="seconds"), "template_ids": [template["template_id"]]},
        token=admin, status=201)
    http.ok("POST", f"/admin/campaigns/{campaign['campaign_id']}/publish", token=admin)
    coupon = http.ok("POST", f"/campaigns/{campaign['campaign_id']}/claims", {"template_id": template["template_id"]},
                     token=shopper, status=201)["coupon"]
    verification = http.ok("POST", "/verifications", {"code": coupon["code"], "store_id": "sh-jingan",
                                                      "spend_fen": 3200}, token=clerk, status=201)
    return {"visit_date": visit_date, "appointment_id": appointment["appointment_id"], "order_id": order["order_id"],
            "pickup_code": paid["pickup_code"], "verification_id": verification["verification_id"]}


def test_the_store_manager_runs_the_day_check_in_hand_over_and_reversal(console, stack) -> None:
    day = _store_day_data(stack, str(int(time.time() * 1000))[-6:])
    console.sign_in("demo-manager")
    assert "/console/store/sh-jingan" in console.driver.current_url
    assert console.test("role").text == "店长"
    console.test("numbers")  # a manager sees the store's numbers

    # The pickup waiting: handed over against the shopper's code
    pickup = f'[data-test="pickup-{day["order_id"]}"]'
    console.css(pickup)
    console.wait().until(lambda d: "核销记录（" in d.find_element(By.CSS_SELECTOR, '[data-test="verifications"]').text)
    reverse = f'[data-test="reverse-{day["verification_id"]}"]'
    console.css(reverse)
    if day["visit_date"] == _china_date():
        console.css(f'[data-test="visit-{day["appointment_id"]}"]')
        console.shot("store-day", full=True)
    console.click(f'{pickup} [data-test="hand-over"]')
    console.type_prompt(day["pickup_code"])
    console.wait().until(lambda d: not d.find_elements(By.CSS_SELECTOR, pickup))
    # The verification reversed: the row says so and the button is gone
    console.click(reverse)
    console.confirm()
    console.wait().until(lambda d: not d.find_elements(By.CSS_SELECTOR, reverse))
    assert "已撤销" in console.test("verifications").text

    # The visit of its day: checked in
    console.open(f"/store/sh-jingan?date={day['visit_date']}")
    visit = f'[data-test="visit-{day["appointment_id"]}"]'
    console.click(f'{visit} [data-test="check-in"]')
    console.wait().until(lambda d: "已到店" in d.find_element(By.CSS_SELECTOR, visit).text)
    assert not console.driver.find_elements(By.CSS_SELECTOR, f'{visit} [data-test="check-in"]')


def test_hq_creates_a_template_and_a_campaign_publishes_it_and_sees_a_claim_on_the_dashboard(console, stack) -> None:
    http = stack["http"]
    suffix = str(int(time.time() * 1000))[-6:]
    tpl_name, cp_name = f"浏览器满减{suffix}", f"浏览器活动{suffix}"
    console.sign_in("admin")
    console.test("nav-dashboard")
    assert console.test("role").text == "总部管理员"

    # A coupon template: ¥15 off, 50 units, valid 7 days from the claim
    console.click('[data-test="nav-templates"]')
    console.click('[data-test="new-template"]')
    console.type("t-name", tpl_name)
    console.type("t-amount", "15")
    console.type("t-stock", "50")
    console.click('[data-test="t-save"]')
    row = console.test("templates")
    console.wait().until(lambda d: tpl_name in row.text)

    # A campaign from that template, live from now for a week (the dialog's default range)
    console.click('[data-test="nav-campaigns"]')
    console.click('[data-test="new-campaign"]')
    console.type("c-name", cp_name)
    console.click('[data-test="c-templates"]')
    console.choose(tpl_name)
    console.click('[data-test="c-name"]')  # closes the dropdown
    console.click('[data-test="c-save"]')
    table = console.test("campaigns")
    console.wait().until(lambda d: cp_name in table.text)
    tr = table.find_element(By.XPATH, f".//tr[.//*[normalize-space(.)='{cp_name}']]")
    campaign_id = tr.find_element(By.CSS_SELECTOR, '[data-test^="status-"]').get_attribute("data-test")[7:]
    console.text_is(f'[data-test="status-{campaign_id}"]', "草稿")
    console.click(f'[data-test="actions-{campaign_id}"] [data-test="publish"]')
    console.text_is(f'[data-test="status-{campaign_id}"]', "进行中")

    # The dashboard shows it live with nothing claimed; a shopper claims through the API; the count follows
    console.click('[data-test="nav-dashboard"]')
    card = f'[data-test="live-{campaign_id}"]'
    console.text_is(f"{card} [data-test=claimed]", "0")
    shopper = http.login(f"browser-shopper-{suffix}")
    campaign = http.ok("GET", f"/campaigns/{campaign_id}", token=shopper)
    template_id = campaign["templates"][0]["template_id"]
    http.ok("POST", f"/campaigns/{campaign_id}/claims", {"template_id": template_id}, token=shopper, status=201)
    console.text_is(f"{card} [data-test=claimed]", "1", timeout=20)  # no reload: the dashboard refreshes itself
    assert console.css(f"{card} canvas")  # the funnel is drawn
    console.click('[data-test="trend-store"]')
    console.choose("sh-jingan")
    console.wait().until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-test="trend"]')
                         .get_attribute("data-store") == "sh-jingan")
    console.css('[data-test="trend-chart"] canvas')
    console.shot("dashboard", full=True)

    # Pause (claims refused at once), resume, and the campaign's numbers in its report
    console.click('[data-test="nav-campaigns"]')
    actions = f'[data-test="actions-{campaign_id}"]'
    console.click(f'{actions} [data-test="pause"]')
    console.text_is(f'[data-test="status-{campaign_id}"]', "已暂停")
    status, body = http.call("POST", f"/campaigns/{campaign_id}/claims", {"template_id": template_id},
                             token=http.login(f"browser-late-{suffix}"))
    assert (status, body["error"]["code"]) == (409, "CAMPAIGN_NOT_LIVE")
    console.click(f'{actions} [data-test="resume"]')
    console.text_is(f'[data-test="status-{campaign_id}"]', "进行中")
    console.click(f'{actions} [data-test="report"]')
    console.text_is('[data-test="r-claimed"]', "1")
    console.shot("campaign-report")


def test_an_api_error_shows_in_chinese_with_the_apis_message(console) -> None:
    console.sign_in("admin")
    console.click('[data-test="nav-templates"]')
    console.click('[data-test="new-template"]')
    console.type("t-name", "没有赠品的赠品券")
    console.click('[data-test="kind-gift"]')
    console.click('[data-test="t-save"]')  # a gift coupon without its gift: 400 VALIDATION_FAILED
    error = console.test("form-error")
    assert error.text.startswith("输入有误") and "gift_sku" in error.text and "required for kind gift" in error.text
    assert console.css('[data-test="t-gift-item"] .el-form-item__error').text  # and next to the field itself


def test_a_clerk_sees_only_their_store_and_nothing_hq_or_a_manager_may_do(console, stack) -> None:
    console.open("/login")
    qr = console.test("login-qr")
    assert qr.get_attribute("src").startswith("data:image/png;base64,")
    console.wait().until(lambda d: d.execute_script("return arguments[0].naturalWidth", qr) > 0)  # a real PNG
    console.test("scan-as-demo-clerk")  # local mode: the demo scan helper is offered
    console.shot("sign-in")
    console.sign_in("demo-clerk")
    assert "/console/store/sh-jingan" in console.driver.current_url
    assert console.test("role").text == "店员"
    console.test("visits")
    nav = [e.get_attribute("data-test") for e in console.driver.find_elements(By.CSS_SELECTOR, '[data-test^="nav-"]')]
    assert nav == ["nav-store"]
    assert not console.driver.find_elements(By.CSS_SELECTOR, '[data-test="numbers"]')  # the store's numbers: managers
    console.shot("clerk-day")
    console.click('[data-test="day-store"]')
    options = console.wait().until(lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR,
                                                                            ".el-select-dropdown__item")
                                                 if e.is_displayed()])
    assert len(options) == 1 and "sh-jingan" in options[0]
    console.open("/dashboard")  # an HQ page by its address: back to the clerk's store
    console.wait().until(lambda d: "/console/store/sh-jingan" in d.current_url)
    console.open("/store/sh-xintiandi")  # another store by its address: back to their own
    console.wait().until(lambda d: "/console/store/sh-jingan" in d.current_url)



def test_hq_manages_drafts_stock_staff_and_pos_secrets(console, stack) -> None:
    http = stack["http"]
    suffix = str(int(time.time() * 1000))[-6:]
    admin = http.login("admin")
    now = datetime.now(CHINA)
    template = http.ok("POST", "/admin/coupon-templates", {
        "name": f"补货券{suffix}", "kind": "percent_off", "percent_off": 20, "max_off_fen": 1000, "min_spend_fen": 0,
        "total_stock": 5, "per_member_limit": 1, "validity": {"type": "relative", "days": 3},
        "channels": ["store", "online"], "store_ids": []}, token=admin, status=201)
    draft = http.ok("POST", "/admin/campaigns", {
        "name": f"草稿{suffix}", "starts_at": (now + timedelta(days=1)).isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=2)).isoformat(timespec="seconds"),
        "template_ids": [template["template_id"]]}, token=admin, status=201)
    console.sign_in("admin")

    # A draft edited, then cancelled
    console.click('[data-test="nav-campaigns"]')
    actions = f'[data-test="actions-{draft["campaign_id"]}"]'
    console.click(f'{actions} [data-test="edit"]')
    console.type("c-name", f"改过的草稿{suffix}")
    console.click('[data-test="c-save"]')
    table = console.test("campaigns")
    console.wait().until(lambda d: f"改过的草稿{suffix}" in table.text)
    drafts = http.ok("GET", "/admin/campaigns?status=draft&limit=100", token=admin)["items"]
    assert {c["campaign_id"]: c["name"] for c in drafts}[draft["campaign_id"]] == f"改过的草稿{suffix}"
    console.click(f'{actions} [data-test="cancel"]')
    console.confirm()
    console.text_is(f'[data-test="status-{draft["campaign_id"]}"]', "已取消")

    # A template restocked (5 → 25), then archived (gone from the active list)
    console.click('[data-test="nav-templates"]')
    stock = f'[data-test="stock-{template["template_id"]}"]'
    console.text_is(stock, "0 / 5 / 5")
    console.click(f'[data-test="actions-{template["template_id"]}"] [data-test="restock"]')
    console.type_prompt("20")
    console.text_is(stock, "0 / 25 / 25")
    console.click(f'[data-test="actions-{template["template_id"]}"] [data-test="archive"]')
    console.wait().until(lambda d: not d.find_elements(By.CSS_SELECTOR, stock))

    # A product restocked at a store
    console.click('[data-test="nav-products"]')
    cell = '[data-test="stock-beans-250g-sh-jingan"]'
    before = int(console.css(cell).text)
    console.click('[data-test="restock-beans-250g"]')
    console.click('[data-test="rs-store"]')
    console.choose("sh-jingan")
    console.type("rs-add", "7")
    console.click('[data-test="rs-save"]')
    console.text_is(cell, str(before + 7))

    # Staff: a new clerk assigned in the console, then revoked; their token already issued loses the role at once
    console.click('[data-test="nav-stores"]')
    newcomer = http.ok("POST", "/auth/login", {"code": f"browser-clerk-{suffix}"})["member_id"]
    console.click('[data-test="assign-staff"]')
    console.type("a-member", newcomer)
    console.click('[data-test="a-stores"]')
    console.choose("sh-jingan")
    console.click('[data-test="a-member"]')  # closes the dropdown
    console.click('[data-test="a-save"]')
    revoke = f'[data-test="revoke-{newcomer}"]'
    console.css(revoke)
    token = http.login(f"browser-clerk-{suffix}")
    assert http.call("GET", "/stores/sh-jingan/verifications", token=token)[0] == 200
    console.click(revoke)
    console.confirm()
    console.wait().until(lambda d: not d.find_elements(By.CSS_SELECTOR, revoke))
    assert http.call("GET", "/stores/sh-jingan/verifications", token=token)[0] == 403

    # A POS secret rotated: shown once, in its dialog
    console.click('[data-test="pos-secret-sh-xintiandi"]')
    console.confirm()
    secret = console.test("secret").text
    assert len(secret) >= 32
    console.click('[data-test="secret-close"]')
    console.wait().until(lambda d: not d.find_element(By.CSS_SELECTOR, '[data-test="secret"]').is_displayed()
                         if d.find_elements(By.CSS_SELECTOR, '[data-test="secret"]') else True)


def test_hq_sets_up_a_journey_and_switches_it_off(console, stack) -> None:
    http = stack["http"]
    suffix = str(int(time.time() * 1000))[-6:]
    admin = http.login("admin")
    console.sign_in("admin")
    console.click('[data-test="nav-journeys"]')
    console.click('[data-test="new-journey"]')
    console.type("j-name", f"新会员礼{suffix}")
    console.type("j-msg", "JrnBrowserTpl0000000000000000000000000000")
    console.click('[data-test="j-save"]')
    table = console.test("journeys")
    console.wait().until(lambda d: f"新会员礼{suffix}" in table.text)
    journeys = http.ok("GET", "/admin/journeys?limit=100", token=admin)["items"]
    made = {j["name"]: j for j in journeys}[f"新会员礼{suffix}"]
    assert made["trigger"] == {"type": "joined"} and made["active"] is True
    assert made["actions"] == [{"type": "message", "template_id": "JrnBrowserTpl0000000000000000000000000000"}]
    console.text_is(f'[data-test="entered-{made["journey_id"]}"]', "0")
    console.click(f'[data-test="active-{made["journey_id"]}"]')
    console.wait().until(lambda d: http.ok("GET", f"/admin/journeys/{made['journey_id']}", token=admin)["active"]
                         is False)
