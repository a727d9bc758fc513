"""A loopback Secrets Manager (GetSecretValue, PutSecretValue, DescribeSecret) for the built-layer import test and
the cold-start bench: functions reach it through AWS_ENDPOINT_URL_SECRETS_MANAGER, as botocore allows, and it
counts the reads of each secret."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.httpd import serve_in_background

REGION = "ap-east-1"
ACCOUNT = "123456789012"


class FakeSecretsManager:
    def __init__(self, region: str = REGION, partition: str = "aws") -> None:
        self.region = region
        self.partition = partition
        self.secrets: dict[str, str] = {}  # arn -> SecretString
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: Any = None

    def create(self, name: str, value: dict[str, Any] | str) -> str:
        arn = f"arn:{self.partition}:secretsmanager:{self.region}:{ACCOUNT}:secret:{name}-{uuid.uuid4().hex[:6]}"
        self.secrets[arn] = value if isinstance(value, str) else json.dumps(value)
        return arn

    def start(self) -> FakeSecretsManager:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                action = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
                status, answer = fake.handle(action, body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = serve_in_background("127.0.0.1", 0, Handler, "fake-secretsmanager")
        return self

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def address(self) -> tuple[str, int]:
        return self._server.server_address[:2]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _find(self, secret_id: str) -> str | None:
        if secret_id in self.secrets:
            return secret_id
        return next((a for a in self.secrets if a.rsplit(":", 1)[-1].rsplit("-", 1)[0] == secret_id), None)

    def handle(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            arn = self._find(str(body.get("SecretId", "")))
            if arn is None:
                return 400, {"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find it"}
            name = arn.rsplit(":", 1)[-1]
            if action == "GetSecretValue":
                self.reads[arn] += 1
                return 200, {"ARN": arn, "Name": name, "SecretString": self.secrets[arn],
                             "VersionId": uuid.uuid4().hex, "VersionStages": ["AWSCURRENT"]}
            if action == "PutSecretValue":
                self.secrets[arn] = str(body["SecretString"])
                return 200, {"ARN": arn, "Name": name, "VersionId": uuid.uuid4().hex}
            if action == "DescribeSecret":
                return 200, {"ARN": arn, "Name": name}
            return 400, {"__type": "InvalidRequestException", "message": f"{action} is not faked"}
