"""The merchant console in a real browser (headless Chromium) against `python -m local`."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.xdist_group("browser")  # one local cloud and one Chromium for the whole module


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
    assert tr.find_element(By.CSS_SELECTOR, f'[data-test="status-{campaign_id}"]').text == "草稿"
    tr.find_element(By.CSS_SELECTOR, '[data-test="publish"]').click()
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
    console.shot("dashboard")


def test_a_clerk_sees_only_their_store_and_nothing_hq_or_a_manager_may_do(console, stack) -> None:
    console.sign_in("demo-clerk")
    assert "/console/store/sh-jingan" in console.driver.current_url
    assert console.test("role").text == "店员"
    console.test("visits")
    nav = [e.get_attribute("data-test") for e in console.driver.find_elements(By.CSS_SELECTOR, '[data-test^="nav-"]')]
    assert nav == ["nav-store"]
    assert not console.driver.find_elements(By.CSS_SELECTOR, '[data-test="numbers"]')  # the store's numbers: managers
    console.click('[data-test="day-store"]')
    shown = lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, ".el-select-dropdown__item") if e.is_displayed()]
    options = console.wait().until(shown)
    assert len(options) == 1 and "sh-jingan" in options[0]
    console.open("/dashboard")  # an HQ page by its address: back to the clerk's store
    console.wait().until(lambda d: "/console/store/sh-jingan" in d.current_url)
    console.open("/store/sh-xintiandi")  # another store by its address: back to their own
    console.wait().until(lambda d: "/console/store/sh-jingan" in d.current_url)
