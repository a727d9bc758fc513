"""The whole local system in one object: DynamoDB Local, WeChat fake, the stack, API Gateway and the HTTP server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from local.apigw import ApiGateway
from local.cloud import LocalCloud
from local.dynamodb_local import DynamoDBLocal
from local.openapi import build_openapi
from local.scheduler import start_scheduler
from local.server import ApiServer
from local.stack import ROOT
from local.testing import TestClient
from local.wechat_fake import WeChatFake

log = logging.getLogger("local")


class LocalSystem:
    def __init__(self, host: str = "127.0.0.1", api_port: int = 3000, wechat_port: int = 3001,
                 template: str | Path = ROOT / "template.yaml", overrides: dict[str, str] | None = None,
                 dynamodb_port: int = 0) -> None:
        self.host = host
        self.api_port = api_port
        self.wechat_port = wechat_port
        self.dynamodb_port = dynamodb_port  # 0: a free port
        self.template = template
        self.overrides = overrides
        self.wechat: WeChatFake | None = None
        self.cloud: LocalCloud | None = None
        self.server: ApiServer | None = None
        self.engine: DynamoDBLocal | None = None

    def start(self, *, serve_http: bool = True, pollers: bool = True) -> LocalSystem:
        # The JVM starts while the rest does; bind both ports first, so a taken port fails before anything else.
        self.engine = DynamoDBLocal(self.host, self.dynamodb_port).launch()
        self.wechat = WeChatFake(self.host, self.wechat_port).start()
        api_base = f"http://{self.host}:{self.api_port}"
        server = None
        if serve_http:
            server = ApiServer(None, self.host, self.api_port)  # answers 503 STARTING until wired below
            server.start()
            api_base = server.base_url
        self.wechat.api_base = api_base
        self.cloud = LocalCloud(self.template, wechat_base=self.wechat.base_url, api_base=api_base,
                                overrides=self.overrides, engine=self.engine).start()
        self.gateway = ApiGateway(self.cloud)
        self.client = TestClient(self.gateway)
        if server is not None:
            server.gateway = self.gateway
            server.openapi = build_openapi(self.cloud)
            server.local_routes = self.local_routes()
            self.server = server
        if pollers:
            self.cloud.start_pollers()
            start_scheduler(self.cloud)  # fires each schedule on its cron/rate (STORELOOP_SCHEDULES=off: on demand)
        return self

    def local_routes(self) -> dict[str, Any]:
        """Local-only helpers (never in template.yaml): run a schedule now."""
        def run_schedule(path: str, body: bytes) -> tuple[int, Any]:
            name = path.rsplit("/", 2)[-2] if path.endswith("/run") else path.rsplit("/", 1)[-1]
            assert self.cloud is not None
            try:
                return 200, {"schedule": name, "result": self.cloud.run_schedule(name)}
            except KeyError:
                return 404, {"error": {"code": "NOT_FOUND", "message": f"no schedule {name}",
                                       "known": sorted(self.cloud.schedules)}}
        return {"POST /_local/schedules/": run_schedule}

    def stop(self) -> None:
        for part in (self.server, self.cloud, self.wechat, self.engine):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - stop everything we can
                    log.exception("stopping %s", type(part).__name__)
