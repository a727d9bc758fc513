"""The local cloud over real HTTP, started as `make run` starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from local.stack import ROOT
from tests.e2e.conftest import Http, free_port


def test_health_login_and_stores_over_http(local_cloud):
    http = local_cloud["http"]
    status, body, headers = http.call("GET", "/health")
    assert status == 200 and body == {"status": "ok"}
    assert headers.get("x-amzn-RequestId")
    status, admin, _ = http.call("POST", "/auth/login", {"code": "admin"})
    assert status == 200 and "admin" in admin["roles"]
    status, stores, _ = http.call("GET", "/stores?lat=31.2304&lng=121.4737", token=admin["token"])
    assert status == 200
    ids = [s["store_id"] for s in stores["items"]]
    distances = [s["distance_m"] for s in stores["items"]]
    assert ids == ["sh-xintiandi", "sh-jingan", "hz-hubin"]  # People's Square: Xintiandi ~1.5 km, Jing'an ~2.3 km
    assert distances == sorted(distances) and distances[2] > 150_000


def test_demo_staff_can_log_in_with_their_roles(local_cloud):
    http = local_cloud["http"]
    status, manager, _ = http.call("POST", "/auth/login", {"code": "demo-manager"})
    assert status == 200 and "staff" in manager["roles"]
    assert set(manager["store_ids"]) == {"sh-jingan", "sh-xintiandi"}


def test_errors_over_http_carry_the_envelope(local_cloud):
    http = local_cloud["http"]
    status, body, _ = http.call("GET", "/stores")
    assert status == 401 and body["error"]["code"] == "UNAUTHENTICATED" and body["error"]["request_id"]
    status, body, _ = http.call("GET", "/nothing-here")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    status, body, _ = http.call("POST", "/auth/login", {"code": "bad-123"})
    assert status == 401 and body["error"]["code"] == "WECHAT_LOGIN_FAILED"


def test_openapi_is_served(local_cloud):
    status, doc, _ = local_cloud["http"].call("GET", "/openapi.json")
    assert status == 200 and "/auth/login" in doc["paths"]


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "STORELOOP_API_PORT": "0", "STORELOOP_WECHAT_PORT": str(port),
               "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}"}
        proc = subprocess.run([sys.executable, "-m", "local"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 2
    assert "port is taken" in proc.stderr


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_ctrl_c_stops_dynamodb_local_with_the_local_cloud():
    """`make run` starts its own DynamoDB Local (a JVM) and ends it when it stops: Ctrl-C leaves no engine behind."""
    api = free_port()
    env = {**os.environ, "STORELOOP_API_PORT": str(api), "STORELOOP_WECHAT_PORT": str(free_port()),
           "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", "STORELOOP_LOCAL_LOG": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if Http(f"http://127.0.0.1:{api}").call("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        engines = [c for c in _children(proc.pid) if "DynamoDBLocal.jar" in _cmdline(c)]
        assert len(engines) == 1, [_cmdline(c) for c in _children(proc.pid)]
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=30) == 0
        gone = time.time() + 10
        while time.time() < gone and "DynamoDBLocal.jar" in _cmdline(engines[0]):
            time.sleep(0.1)
        assert "DynamoDBLocal.jar" not in _cmdline(engines[0])
    finally:
        if proc.poll() is None:
            proc.kill()
