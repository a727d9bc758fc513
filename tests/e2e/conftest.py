"""End-to-end fixtures: the local cloud started as `make run` starts it, on free ports, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.stack import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None, dict(exc.headers)


@pytest.fixture(scope="module")
def local_cloud() -> Iterator[dict[str, Any]]:
    """`python -m local` in a subprocess (what `make run` runs), ready when /health answers."""
    api, wechat = free_port(), free_port()
    env = {**os.environ, "STORELOOP_API_PORT": str(api), "STORELOOP_WECHAT_PORT": str(wechat),
           "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", "STORELOOP_LOCAL_LOG": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    http = Http(f"http://127.0.0.1:{api}")
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"local cloud exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if http.call("GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("local cloud did not answer /health within 60 s")
    # Demo data is seeded after the server starts listening: wait until the demo stores are there.
    token = http.call("POST", "/auth/login", {"code": "admin"})[1]["token"]
    while time.time() < deadline and http.call("GET", "/stores/hz-hubin", token=token)[0] != 200:
        time.sleep(0.2)
    # ... and its last step, the demo staff (the console tests sign in as demo-clerk and demo-manager).
    def staff_seeded() -> bool:
        status, body, *_ = http.call("GET", "/admin/staff?store_id=sh-jingan", token=token)
        return status == 200 and len(body.get("items", [])) >= 2

    while time.time() < deadline and not staff_seeded():
        time.sleep(0.2)
    yield {"http": Http(f"http://127.0.0.1:{api}"), "wechat": Http(f"http://127.0.0.1:{wechat}"),
           "api_port": api, "wechat_port": wechat, "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
