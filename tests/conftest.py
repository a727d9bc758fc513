"""Fixtures shared by every test level: the WeChat fake on loopback, a fresh local stack per test, a client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from local.apigw import ApiGateway  # noqa: E402
from local.cloud import LocalCloud  # noqa: E402
from local.dynamodb_local import DynamoDBLocal, shared_engine  # noqa: E402
from local.testing import TestClient, notifiable_cloud  # noqa: E402
from local.wechat_fake import WeChatFake  # noqa: E402


@pytest.fixture(scope="session")
def wechat() -> Iterator[WeChatFake]:
    fake = WeChatFake(port=0).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def engine() -> Iterator[DynamoDBLocal]:
    """AWS's DynamoDB Local, one per test process (per xdist worker); each stack makes its tables anew in it."""
    engine = shared_engine()
    yield engine
    engine.stop()


@pytest.fixture
def msg(wechat: WeChatFake) -> Iterator[Any]:
    """The WeChat fake's subscription-message side, emptied before and after the test."""
    wechat.msg.reset()
    yield wechat.msg
    wechat.msg.reset()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "notifiable(overrides=None): the test's `cloud` is a stack the WeChat Pay fake "
                                       "notifies over HTTP, naming the test merchant (local.testing.notifiable_cloud)")


@pytest.fixture
def cloud(request: pytest.FixtureRequest, wechat: WeChatFake, engine: DynamoDBLocal) -> Iterator[LocalCloud]:
    """A fresh stack per test: its tables (in DynamoDB Local), and its own moto account for queues and state
    machines, all from template.yaml. A module marked `pytestmark = pytest.mark.notifiable({...overrides})` gets
    one whose API also listens on a loopback port, so the Pay fake's payment and refund notifications reach it."""
    notifiable = request.node.get_closest_marker("notifiable")
    if notifiable is not None:
        with notifiable_cloud(wechat, *notifiable.args, **notifiable.kwargs) as stack:
            yield stack
        return
    wechat.down = False
    stack = LocalCloud(wechat_base=wechat.base_url, engine=engine).start()
    yield stack
    stack.stop()


@pytest.fixture
def client(cloud: LocalCloud) -> TestClient:
    return TestClient(ApiGateway(cloud))


class Actors:
    """Logged-in people for a test: `actors.admin`, `actors.member("code")`, `actors.staff(...)`."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._admin: dict[str, Any] | None = None

    @property
    def admin(self) -> dict[str, Any]:
        if self._admin is None:
            self._admin = self.client.login("admin")
        return self._admin

    def member(self, code: str = "shopper-1") -> dict[str, Any]:
        return self.client.login(code)

    def staff(self, code: str, role: str, store_ids: list[str]) -> dict[str, Any]:
        who = self.client.login(code)
        resp = self.client.post("/admin/staff", {"member_id": who["member_id"], "role": role, "store_ids": store_ids},
                                token=self.admin["token"])
        assert resp.status == 201, resp.body
        return self.client.login(code)  # a fresh token carrying the roles (they are in force at once too)

    def store(self, store_id: str = "s1", **fields: Any) -> dict[str, Any]:
        body = {"store_id": store_id, "name": f"Store {store_id}", "city": "上海", "address": "1 Road",
                "lat": 31.23, "lng": 121.47, "open_time": "10:00", "close_time": "22:00", "slot_minutes": 30,
                "slot_capacity": 4, **fields}
        resp = self.client.post("/admin/stores", body, token=self.admin["token"])
        assert resp.status == 201, resp.body
        return resp.json()


@pytest.fixture
def actors(client: TestClient) -> Actors:
    return Actors(client)
