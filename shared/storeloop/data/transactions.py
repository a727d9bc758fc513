"""A labelled TransactWrite (which item's condition cancelled it), run with DynamoDB's TransactionConflict retried.

The order's transitions (data/order_transitions.py) are built of steps that the aggregates they touch add to one
`LabelledTx`: the coupon's (data/coupons.py, data/verification.py), a campaign kind's (data/flash_sales.py,
data/group_buys.py), the points' (data/points.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data.models import cancellation_codes, connection

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT_ATTEMPTS = 5

T = TypeVar("T")


class Busy(Exception):
    """Transaction conflicts outlasted the retries."""


@dataclass
class LabelledTx:
    """A TransactWrite that remembers a label per item, to tell which condition cancelled it.

    DynamoDB reports reasons in request order, and pynamodb sends condition checks, deletes, puts, then updates.
    """

    tx: TransactWrite
    labels: dict[str, list[str]] = field(default_factory=lambda: {"check": [], "put": [], "update": []})

    def check(self, model_cls: Any, hash_key: str, range_key: str, condition: Any, label: str) -> None:
        self.tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self.labels["check"].append(label)

    def save(self, model: Any, condition: Any, label: str) -> None:
        self.tx.save(model, condition=condition)
        self.labels["put"].append(label)

    def update(self, model: Any, actions: list[Any], condition: Any, label: str) -> None:
        self.tx.update(model, actions=actions, condition=condition)
        self.labels["update"].append(label)

    def failed(self, exc: Exception) -> list[str]:
        order = self.labels["check"] + self.labels["put"] + self.labels["update"]
        return [label for label, code in zip(order, cancellation_codes(exc), strict=False) if code == CONDITION_FAILED]


Step = Callable[[LabelledTx], None]  # adds one aggregate's own change to a transaction


class Failed(Exception):
    """The transaction was cancelled: `labels` are the items whose condition failed (empty: none of ours)."""

    def __init__(self, tx: LabelledTx | None, exc: TransactWriteError) -> None:
        super().__init__(str(exc))
        self.labels = tx.failed(exc) if tx is not None else []


def transact(build: Callable[[LabelledTx], None]) -> None:
    """Run one transaction built by `build`, retrying DynamoDB's TransactionConflict; Failed names what failed,
    Busy when the conflicts outlast the retries."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        tx: LabelledTx | None = None
        try:
            with TransactWrite(connection=connection()) as raw:
                tx = LabelledTx(raw)
                build(tx)
            return
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if tx is None or "TransactionConflict" not in codes or CONDITION_FAILED in codes:
                raise Failed(tx, exc) from exc
            if attempt == CONFLICT_ATTEMPTS:
                raise Busy() from exc
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not a secret


def retry(run: Callable[[], T], on: type[Exception], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run `run` again while it raises `on` (an optimistic condition lost to a concurrent change)."""
    for attempt in range(1, attempts + 1):
        try:
            return run()
        except on:
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")
