"""Browser fixtures: `python -m local` on free ports (as `make run` starts it) and one headless Chromium for the
session, driven by Selenium through Debian's chromedriver. `make test` installs chromium and chromium-driver
when they are missing and builds the console; these tests are never skipped."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from local.stack import ROOT

CHROMIUM = os.environ.get("STORELOOP_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STORELOOP_CHROMEDRIVER", "/usr/bin/chromedriver")
# Flags that keep a headless Chromium quiet on a closed network (no background fetches, no QUIC, no sync).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1440,1000", "--lang=zh-CN"]
SHOTS = os.environ.get("STORELOOP_CONSOLE_SHOTS")  # a folder: the tests save their screenshots there (docs/console)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """The API over real HTTP, as the mini-program (a shopper) calls it."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None, status: int = 200) -> Any:
        got, value = self.call(method, path, body, token)
        assert got == status, (method, path, got, value)
        return value

    def login(self, code: str) -> str:
        return self.ok("POST", "/auth/login", {"code": code})["token"]


@pytest.fixture(scope="session")
def console_built() -> Path:
    """The console's build, brought up to date (make's rule: npm ci / vite build only when sources changed)."""
    subprocess.run(["make", "-s", "console"], cwd=ROOT, check=True)
    index = ROOT / "console" / "dist" / "index.html"
    assert index.is_file(), "make console did not produce console/dist/index.html"
    return index


@pytest.fixture(scope="session")
def stack(console_built: Path) -> Iterator[dict[str, Any]]:
    """`python -m local` in a subprocess on free ports, ready once it has seeded the demo data."""
    api, wechat = free_port(), free_port()
    env = {**os.environ, "STORELOOP_API_PORT": str(api), "STORELOOP_WECHAT_PORT": str(wechat),
           "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", "STORELOOP_LOCAL_LOG": "WARNING",
           "STORELOOP_CONSOLE_REFRESH": "2", "STORELOOP_SCHEDULES": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    output: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(240):
        proc.kill()
        raise RuntimeError("python -m local did not get ready in 240 s:\n" + "".join(output[-50:]))
    yield {"http": Http(f"http://127.0.0.1:{api}"), "wechat": Http(f"http://127.0.0.1:{wechat}"),
           "base": f"http://127.0.0.1:{api}", "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser(stack: dict[str, Any]) -> Iterator[webdriver.Chrome]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} missing: `make test` installs chromium and chromium-driver"
    profile = tempfile.mkdtemp(prefix="storeloop-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Console:
    """The console as a person uses it: open pages, click, type, wait for what appears."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver = driver
        self.base = base

    def wait(self, timeout: float = 15) -> WebDriverWait:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1)

    def open(self, path: str) -> None:
        self.driver.get(f"{self.base}/console{path}")

    def css(self, selector: str, timeout: float = 15) -> WebElement:
        return self.wait(timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))

    def test(self, name: str, timeout: float = 15) -> WebElement:
        return self.css(f'[data-test="{name}"]', timeout)

    def click(self, selector: str, timeout: float = 15) -> None:
        self.wait(timeout).until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector))).click()

    def choose(self, text: str, timeout: float = 15) -> None:
        """Click the shown option of an open Element Plus select whose text contains `text`."""
        def option(d: Any) -> WebElement | bool:
            for e in d.find_elements(By.CSS_SELECTOR, ".el-select-dropdown__item"):
                if e.is_displayed() and text in e.text:
                    return e
            return False
        self.wait(timeout).until(option).click()

    def type(self, name: str, text: str) -> None:
        """Type into the input of the `data-test` name (Element Plus puts the attribute on the input or around it)."""
        field = self.test(name)
        if field.tag_name != "input":
            field = field.find_element(By.CSS_SELECTOR, "input")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(text)

    def type_prompt(self, text: str) -> None:
        """Answer an open ElMessageBox prompt and confirm it."""
        box = self.css(".el-message-box")
        field = box.find_element(By.CSS_SELECTOR, "input")
        field.send_keys(text)
        box.find_element(By.CSS_SELECTOR, ".el-message-box__btns .el-button--primary").click()

    def confirm(self) -> None:
        """Confirm an open ElMessageBox."""
        self.click(".el-message-box .el-message-box__btns .el-button--primary")

    def text_is(self, selector: str, text: str, timeout: float = 15) -> None:
        self.wait(timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
        assert self.driver.find_element(By.CSS_SELECTOR, selector).text.strip() == text

    def sign_in(self, code: str) -> None:
        """The local "scan as a demo login": the login page's helper asks the WeChat fake to scan and approve."""
        self.open("/login")
        self.driver.execute_script("sessionStorage.clear()")
        self.open("/login")
        self.test("login-qr")
        self.click(f'[data-test="scan-as-{code}"]')
        self.wait().until(lambda d: "/console/login" not in d.current_url)

    def shot(self, name: str, full: bool = False) -> Path:
        """A screenshot (`full`: the whole page, the viewport stretched to its height for the moment)."""
        folder = Path(SHOTS) if SHOTS else Path(tempfile.gettempdir()) / "storeloop-console-shots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        if full:  # the viewport made as tall as the page (a window cannot outgrow headless Chromium's screen)
            height = self.driver.execute_script(
                "return Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
                " + (document.querySelector('.el-header') || {offsetHeight: 0}).offsetHeight")
            width = self.driver.execute_script("return window.innerWidth")
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": min(int(height) + 20, 3000), "deviceScaleFactor": 1, "mobile": False})
            self.wait().until(lambda d: d.execute_script("return window.innerHeight") >= min(int(height), 3000) - 40)
        self.driver.save_screenshot(str(path))
        if full:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path


@pytest.fixture
def console(browser: webdriver.Chrome, stack: dict[str, Any]) -> Console:
    browser.delete_all_cookies()
    return Console(browser, stack["base"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed browser test leaves a screenshot and the page's text behind, named in the report."""
    outcome = yield
    report = outcome.get_result()
    console = item.funcargs.get("console") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(console, Console):
        path = console.shot(f"failed-{item.name}")
        body = console.driver.find_element(By.TAG_NAME, "body").text
        report.sections.append(("browser", f"url {console.driver.current_url}\nscreenshot {path}\n{body[:3000]}"))


def pytest_configure(config: pytest.Config) -> None:
    # xdist's marker, named here too so a run without xdist (-p no:xdist) does not warn about it.
    config.addinivalue_line("markers", "xdist_group(name): tests that share one xdist worker")
