"""The single table's base model: key and index attributes every entity shares, and one shared connection.

Every aggregate module (`members`, `stores`, `coupons`, ...) subclasses `Entity`; the access patterns and key
shapes are listed in docs/data-model.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class GSI1(GlobalSecondaryIndex["Entity"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class GSI2(GlobalSecondaryIndex["Entity"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class Entity(Model):
    class Meta:
        table_name = "storeloop-unbound"  # set by Entity.bind() from settings at cold start
        region: str | None = None
        host: str | None = None
        max_retry_attempts = 2
        base_backoff_ms = 20
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)

    gsi1 = GSI1()
    gsi2 = GSI2()

    _shared: ClassVar[TableConnection | None] = None

    @classmethod
    def bind(cls, table_name: str, region: str, host: str | None) -> None:
        Entity.Meta.table_name = table_name
        Entity.Meta.region = region
        Entity.Meta.host = host
        Entity._shared = None
        Entity._connection = None
        conn = Entity._get_connection()
        _ = conn.connection.client  # create the botocore client now, on one thread
        Entity._shared = conn

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # One connection for every entity class: they all live in the same table.
        if Entity._shared is not None and Entity._shared.table_name == Entity.Meta.table_name:
            return Entity._shared
        return super()._get_connection()


def connection() -> Connection:
    """The low-level connection transactions run on."""
    return Entity._get_connection().connection


def cancellation_codes(exc: Any) -> list[str | None]:
    """Per-item reasons of a cancelled transaction (None = no failure).

    The order is the order pynamodb sends the items, not the order of the calls: condition checks, then
    deletes, then puts (saves), then updates.
    """
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [getattr(r, "code", None) if r is not None else None for r in reasons]


def start_key(after: dict[str, str] | None) -> dict[str, dict[str, str]] | None:
    """A page's continuation key (plain strings, from a cursor) as DynamoDB's ExclusiveStartKey."""
    return {k: {"S": v} for k, v in after.items()} if after else None


def read_page(results: Iterable[Any], limit: int, *, index: str | None = None) -> tuple[list[Any], dict | None]:
    """Up to `limit` items of a Query made with `limit + 1`, and the key to continue after (None on the last page).

    Reading one more than asked tells whether another page exists, so the last page says so and no empty page
    follows it. `index` ("GSI1"/"GSI2") adds that index's keys to the continuation key.
    """
    items: list[Any] = []
    for item in results:
        items.append(item)
        if len(items) > limit:
            break
    if len(items) <= limit:
        return items, None
    last = items[limit - 1]
    key = {"PK": last.PK, "SK": last.SK}
    if index:
        key[f"{index}PK"] = getattr(last, f"{index}PK") or ""
        key[f"{index}SK"] = getattr(last, f"{index}SK") or ""
    return items[:limit], key
