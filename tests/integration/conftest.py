"""Fixtures shared by the integration tests: the admin's token, the service clock moved, tomorrow, a one-latte shop,
and a webhook receiver on loopback (the stack, client and actors are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from local.webhook_receiver import WebhookReceiver
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, now

REAL_NOW = clock.now


@pytest.fixture
def admin(actors: Any) -> str:
    """The HQ admin's token."""
    return actors.admin["token"]


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta | datetime], None]:
    """Move the service clock: travel(timedelta(days=2)) makes every handler see now + 2 days (the clock runs on);
    travel(at), with a datetime, makes every handler see `at` (the clock stands still)."""
    def go(to: timedelta | datetime) -> None:
        if isinstance(to, datetime):
            monkeypatch.setattr(clock, "now", lambda: to)
        else:
            monkeypatch.setattr(clock, "now", lambda: REAL_NOW() + to)
    return go


@pytest.fixture
def day() -> date:
    """Tomorrow in Shanghai, fixed once per test: every slot of it is bookable whatever the time now."""
    return now().astimezone(CN_TZ).date() + timedelta(days=1)


@pytest.fixture
def shop(client: Any, actors: Any) -> dict[str, str]:
    """Store s1 selling a latte (¥32, 20 in stock); a module with another catalogue defines its own `shop`."""
    actors.store("s1")
    admin = actors.admin["token"]
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3200, "stock": {"s1": 20}}
    assert client.post("/admin/products", body, token=admin).status == 201
    return {"admin": admin}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A merchant's webhook endpoint on loopback, recording what it receives."""
    r = WebhookReceiver().start()
    yield r
    r.stop()
