"""The console's campaign-kind pages (flash sales, group buys, points mall) and shoppers' sources, in a real browser."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.xdist_group("browser")  # the same local cloud and Chromium as test_console.py
CHINA = timezone(timedelta(hours=8))
FS_TITLE = '[data-test="fs-title"]'  # the dialog's title: above the dropdowns (a label would focus its field)
GB_TITLE = '[data-test="gb-title"]'


def _suffix() -> str:
    return str(int(time.time() * 1000))[-6:]


def _pick(console: Any, select: str, option: str, close_on: str) -> None:
    """Choose `option` in the Element Plus select `select`, then click `close_on` (a CSS selector of something
    its dropdown cannot cover: the dialog's or the page's title) to close it."""
    console.click(f'[data-test="{select}"]')
    console.choose(option)
    console.click(close_on)

    def closed(d: Any) -> bool:  # the dropdown fades out: wait until it no longer covers the fields below
        try:
            return not any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, ".el-select-dropdown__item"))
        except StaleElementReferenceException:
            return False

    console.wait().until(closed)


def _form_error_naming(console: Any, field: str) -> str:
    """The form's error alert once it names `field` (the API's VALIDATION_FAILED details)."""
    alert = '[data-test="form-error"]'
    console.wait().until(lambda d: field in d.find_element(By.CSS_SELECTOR, alert).text)
    return console.test("form-error").text


def test_hq_creates_a_flash_sale_in_the_form_and_sees_what_remains(console, stack) -> None:
    http = stack["http"]
    console.sign_in("admin")
    console.click('[data-test="nav-flash-sales"]')
    console.test("flash-sales")

    # Checked in the browser first: nothing chosen, nothing sent
    console.click('[data-test="new-flash-sale"]')
    console.click('[data-test="fs-save"]')
    assert console.test("form-error").text == "请选择商品"

    # A bound only the API knows (per_member_limit ≤ 100): its message, in the form and next to the field
    _pick(console, "fs-sku", "latte-m", FS_TITLE)
    _pick(console, "fs-stores", "sh-jingan", FS_TITLE)
    console.type("fs-limit", "101")
    console.click('[data-test="fs-save"]')
    error = _form_error_naming(console, "per_member_limit")
    assert error.startswith("输入有误") and "less than or equal to 100" in error
    assert console.css('[data-test="flash-sale-form"] .el-form-item__error').text

    # ¥12.50 for 30 units, 2 a shopper, from now for a day (the default window), 800 orders/s expected
    console.type("fs-limit", "2")
    console.type("fs-price", "12.5")
    console.type("fs-stock", "30")
    console.type("fs-peak", "800")
    console.click('[data-test="fs-save"]')
    table = console.test("flash-sales")
    shopper = http.login(f"flash-shopper-{_suffix()}")
    sales = http.ok("GET", "/flash-sales?limit=100", token=shopper)["items"]
    sale = next(s for s in sales if s["price_fen"] == 1250 and s["stock"] == 30 and s["expected_peak_rps"] == 800)
    assert (sale["sku"], sale["store_ids"], sale["per_member_limit"]) == ("latte-m", ["sh-jingan"], 2)
    sid = sale["flash_sale_id"]
    console.text_is(f'[data-test="price-{sid}"]', "¥12.50")
    console.text_is(f'[data-test="remaining-{sid}"]', "30 / 30")
    console.text_is(f'[data-test="peak-{sid}"]', "800")
    console.text_is(f'[data-test="status-{sid}"]', "进行中")
    assert "拿铁" in table.text

    # A shopper buys one through the API; the list shows 29 left
    http.ok("POST", f"/flash-sales/{sid}/orders", {"store_id": "sh-jingan"}, token=shopper, status=201)
    console.click('[data-test="nav-group-buys"]')
    console.click('[data-test="nav-flash-sales"]')
    console.text_is(f'[data-test="remaining-{sid}"]', "29 / 30")


def test_hq_creates_a_group_buy_and_looks_up_a_shoppers_group(console, stack) -> None:
    http = stack["http"]
    console.sign_in("admin")
    console.click('[data-test="nav-group-buys"]')
    console.click('[data-test="new-group-buy"]')
    _pick(console, "gb-sku", "latte-m", GB_TITLE)
    _pick(console, "gb-stores", "sh-jingan", GB_TITLE)
    console.type("gb-price", "18.8")
    console.type("gb-size", "51")  # above the API's 50
    console.click('[data-test="gb-save"]')
    assert _form_error_naming(console, "group_size").startswith("输入有误")

    console.type("gb-size", "2")
    console.type("gb-hours", "1")
    console.click('[data-test="gb-save"]')
    table = console.test("group-buys")
    offers = '[data-test="group-buys"] [data-test^="status-gb_"]'
    status = console.wait().until(lambda d: d.find_elements(By.CSS_SELECTOR, offers))
    offer_id = status[0].get_attribute("data-test")[len("status-"):]
    offer = http.ok("GET", f"/group-buys/{offer_id}", token=http.login("admin"))
    assert (offer["price_fen"], offer["group_size"], offer["hours"], offer["store_ids"]) == (1880, 2, 1, ["sh-jingan"])
    console.text_is(f'[data-test="price-{offer_id}"]', "¥18.80")
    console.text_is(f'[data-test="status-{offer_id}"]', "进行中")
    assert "2 人" in table.text

    # A shopper opens a group (unpaid yet): HQ looks it up by its id
    leader = http.login(f"group-leader-{_suffix()}")
    opened = http.ok("POST", f"/group-buys/{offer_id}/groups", {"store_id": "sh-jingan"}, token=leader, status=201)
    console.type("group-id", opened["group_id"])
    console.click('[data-test="group-find"]')
    console.text_is('[data-test="group-status"]', "拼团中")
    console.text_is('[data-test="group-members"]', "0 / 2")
    console.type("group-id", "g_nosuchgroup")
    console.click('[data-test="group-find"]')
    assert console.test("group-error").text.startswith("找不到该记录")


def test_hq_adds_a_gift_to_the_points_mall(console, stack) -> None:
    http = stack["http"]
    name = f"积分换豆{_suffix()}"
    console.sign_in("admin")
    console.click('[data-test="nav-rewards"]')
    console.click('[data-test="new-reward"]')
    console.type("rw-name", name)
    console.type("rw-points", "300")
    console.click('[data-test="rw-kind-gift"]')
    _pick(console, "rw-sku", "beans-250g", '[data-test="rw-title"]')
    console.type("rw-stock", "2000000")  # above the API's 1,000,000
    console.click('[data-test="rw-save"]')
    assert _form_error_naming(console, "stock").startswith("输入有误")

    console.type("rw-stock", "5")
    console.click('[data-test="rw-save"]')
    table = console.test("rewards")
    console.wait().until(lambda d: name in table.text)
    rewards = http.ok("GET", "/rewards?limit=100", token=http.login("admin"))["items"]
    reward = {r["name"]: r for r in rewards}[name]
    assert (reward["kind"], reward["sku"], reward["points"], reward["total_stock"]) == ("gift", "beans-250g", 300, 5)
    console.text_is(f'[data-test="remaining-{reward["reward_id"]}"]', "5 / 5")
    console.text_is(f'[data-test="points-{reward["reward_id"]}"]', "300")

    console.type("redemption-id", "rd_nosuchredemption")
    console.click('[data-test="redemption-find"]')
    assert console.test("redemption-error").text.startswith("找不到该记录")


def test_hq_sees_a_campaigns_shoppers_by_source(console, stack) -> None:
    http = stack["http"]
    suffix = _suffix()
    admin = http.login("admin")
    now = datetime.now(CHINA)
    template = http.ok("POST", "/admin/coupon-templates", {
        "name": f"来源券{suffix}", "kind": "cash_off", "amount_off_fen": 300, "min_spend_fen": 0, "total_stock": 10,
        "per_member_limit": 1, "validity": {"type": "relative", "days": 7}, "channels": ["store"], "store_ids": []},
        token=admin, status=201)
    name = f"来源活动{suffix}"
    campaign = http.ok("POST", "/admin/campaigns", {
        "name": name, "starts_at": now.isoformat(timespec="seconds"),
        "ends_at": (now + timedelta(days=1)).isoformat(timespec="seconds"), "template_ids": [template["template_id"]]},
        token=admin, status=201)
    cid = campaign["campaign_id"]
    http.ok("POST", f"/admin/campaigns/{cid}/publish", token=admin)
    article = {"channel": "article", "ref": f"art{suffix}"}
    reader = http.login(f"src-reader-{suffix}")
    http.ok("POST", f"/campaigns/{cid}/views", {"source": article}, token=reader, status=202)
    http.ok("POST", f"/campaigns/{cid}/claims", {"template_id": template["template_id"], "source": article},
            token=reader, status=201)
    http.ok("POST", f"/campaigns/{cid}/claims", {"template_id": template["template_id"]},
            token=http.login(f"src-direct-{suffix}"), status=201)

    console.sign_in("admin")
    console.click('[data-test="nav-sources"]')
    _pick(console, "src-campaign", name, ".page-head h2")
    row = f'[data-test="src-article--art{suffix}-claimed"]'

    def counted(d: Any) -> bool:  # the stream counts a moment later: refresh until it has
        if d.find_elements(By.CSS_SELECTOR, row) and d.find_element(By.CSS_SELECTOR, row).text == "1":
            return True
        d.find_element(By.CSS_SELECTOR, '[data-test="src-refresh"]').click()
        return False

    console.wait(30).until(counted)
    console.text_is(f'[data-test="src-article--art{suffix}-views"]', "1")
    console.text_is('[data-test="src-direct---claimed"]', "1")
    console.text_is('[data-test="src-claimed"]', "2")
    assert "公众号文章" in console.test("src-table").text
    assert console.css('[data-test="src-chart"] canvas')
    assert f"campaign={cid}" in console.driver.current_url
