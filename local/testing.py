"""For tests: the test client (a request becomes the same API Gateway event the local API server builds), and a
stack whose API also listens on a loopback port, so the WeChat Pay fake's notifications reach it over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from local.apigw import ApiGateway, HttpResponse
from local.clients import REGION
from local.cloud import LocalCloud
from local.merchant_keys import local_pay_env
from local.server import ApiServer


class TestClient:
    __test__ = False  # not a pytest test class

    def __init__(self, gateway: ApiGateway) -> None:
        self.gateway = gateway

    def request(self, method: str, path: str, *, json_body: Any = None, raw: bytes | None = None,
                token: str | None = None, headers: dict[str, str] | None = None,
                query: dict[str, Any] | None = None) -> HttpResponse:
        hdrs = {"Host": "127.0.0.1:3000", "User-Agent": "storeloop-tests"}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
        if raw is not None:
            body = raw
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        if query:
            path = f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"
        return self.gateway.handle(method, path, hdrs, body)

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> HttpResponse:  # noqa: A002 - reads like requests
        return self.request("POST", path, json_body=json, **kw)

    def delete(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("DELETE", path, **kw)

    def login(self, code: str) -> dict[str, Any]:
        resp = self.post("/auth/login", {"code": code})
        assert resp.status == 200, resp.body
        return resp.json()


def ok(resp: HttpResponse, status: int = 200) -> Any:
    """The JSON body of a response that must have this status (the body in the failure message otherwise)."""
    assert resp.status == status, resp.body
    return resp.json()


@contextmanager
def notifiable_cloud(wechat: Any, overrides: dict[str, str] | None = None) -> Iterator[LocalCloud]:
    """A local stack whose API also listens on a loopback port, so the Pay fake's notifications reach it over HTTP.

    `wechat` is the running WeChatFake (its Pay fake notifies the notify_url the stack registered); the stack names
    the test merchant of local/keys. On exit, waits for the payment flows still running (short test timeouts) and
    the fake's refund deliveries, so nothing of this stack runs on into the next one.
    """
    server = ApiServer(None, "127.0.0.1", 0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url, api_base=server.base_url,
                       overrides={**local_pay_env(), **(overrides or {})})
    try:
        cloud.start()
        server.gateway = ApiGateway(cloud)
        yield cloud
        if wechat.pay is not None:
            wechat.pay.wait_for_deliveries(5.0)
        wait_for_payment_flows(cloud, 10.0)
    finally:
        cloud.stop()
        server.stop()


def wait_for_payment_flows(cloud: LocalCloud, timeout: float) -> bool:
    """Block until no order payment execution is running (only worth it with a short payment timeout)."""
    import boto3

    if int(cloud.environment.get("ORDER_PAYMENT_TIMEOUT_SECONDS", "900")) > timeout:
        return False
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = cloud.ref("OrderPaymentStateMachine")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
            return True
        time.sleep(0.1)
    return False
