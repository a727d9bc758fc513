"""HQ's side of coupon templates: the list by status, edits of the editable terms, restocking across the shards.

Keys (docs/data-model.md, "Managing what HQ creates"): the template item `TEMPLATE#<id>` / `TEMPLATE` carries
GSI1 `TEMPLATES#<active|archived>` / `<creation time, ns>#<id>` (set at creation by data/coupons.py, moved by an
archive). Counts come from the stock shards: `remaining` is their sum, `issued` = total_stock − remaining −
released (units a campaign's end took off a shard are kept on it as `released`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.coupons import CouponTemplate, StockShard, shard_pk, template_pk, templates_pk
from storeloop.data.models import cancellation_codes, connection, read_page, start_key
from storeloop.domain.coupons import split_stock, stock_shard_count

RESTOCK_ATTEMPTS = 8


class NotChanged(Exception):
    """The conditional edit did not apply (the template is gone, or a limit would be lowered)."""


class TemplateGone(Exception):
    pass


class Busy(Exception):
    """Other changes of the template kept winning; the client retries (429)."""


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2 ** attempt))  # noqa: S311 - jitter, not a secret


class ManagedTemplate(CouponTemplate):
    """The template item with the fields HQ edits beyond its creation terms."""

    archived = BooleanAttribute(null=True)
    archived_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


def get(template_id: str) -> ManagedTemplate | None:
    try:
        return ManagedTemplate.get(template_pk(template_id), "TEMPLATE", consistent_read=True)
    except DoesNotExist:
        return None


def list_templates(status: str, limit: int, cursor: str | None) -> tuple[list[ManagedTemplate], str | None]:
    """Templates of one status, newest first: Query GSI1 `TEMPLATES#<status>` descending, `limit + 1`; from the
    client's cursor (a key of this list, else 400), with the next page's cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=templates_pk(status), SK="TEMPLATE")
    query = ManagedTemplate.gsi1.query(templates_pk(status), scan_index_forward=False, limit=limit + 1,
                                       last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return cast(list[ManagedTemplate], items), cursors.next_cursor(last)


def stock_counts(templates: Iterable[CouponTemplate]) -> dict[str, tuple[int, int]]:
    """template id → (remaining, released) summed over its shards (BatchGetItem, strongly consistent)."""
    keys = [(shard_pk(t.template_id, i), "STOCK") for t in templates for i in range(int(t.shards))]
    totals: dict[str, tuple[int, int]] = {}
    for s in StockShard.batch_get(keys, consistent_read=True) if keys else []:
        remaining, released = totals.get(s.template_id, (0, 0))
        totals[s.template_id] = (remaining + int(s.remaining), released + int(s.released or 0))
    return totals


def edit(template: ManagedTemplate, changes: dict[str, Any], at: str) -> None:
    """Set the changed fields in one conditional UpdateItem; `per_member_limit` may only rise (condition)."""
    actions: list[Any] = [ManagedTemplate.updated_at.set(at)]
    condition: Any = ManagedTemplate.PK.exists()
    for name, value in changes.items():
        attr = getattr(ManagedTemplate, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    if "daily_limit" in changes:  # issue 9: the day's counter shards follow the limit (caps = split of the limit)
        limit = changes["daily_limit"]
        actions.append(ManagedTemplate.daily_shards.set(stock_shard_count(limit)) if limit is not None
                       else ManagedTemplate.daily_shards.remove())
    if "per_member_limit" in changes:
        condition &= ManagedTemplate.per_member_limit <= changes["per_member_limit"]
    if "archived" in changes:
        archived = bool(changes["archived"])
        actions += [ManagedTemplate.GSI1PK.set(templates_pk("archived" if archived else "active")),
                    ManagedTemplate.GSI1SK.set(ManagedTemplate.GSI1SK | f"0#{template.template_id}")]
        actions.append(ManagedTemplate.archived_at.set(at) if archived else ManagedTemplate.archived_at.remove())
    try:
        ManagedTemplate(template_pk(template.template_id), "TEMPLATE").update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(template.template_id) from None
        raise


def restock(template_id: str, add: int) -> ManagedTemplate:
    """Add `add` units across the shards in one transaction; more shards when the new total calls for them.

    Units are split evenly over every shard (new ones included), so claims keep spreading over partitions as
    docs/coupons.md designs. The template's `total_stock` rises with the shards' units and its `shards` count is
    the condition (a concurrent restock makes this one read again and retry): all or nothing, never drifting.
    """
    for attempt in range(RESTOCK_ATTEMPTS):
        template = get(template_id)
        if template is None:
            raise TemplateGone(template_id)
        n = int(template.shards)
        total = int(template.total_stock) + add
        wanted = max(n, stock_shard_count(total))
        units = split_stock(add, wanted)
        try:
            with TransactWrite(connection=connection()) as tx:
                for i in range(n, wanted):
                    tx.save(StockShard(shard_pk(template_id, i), "STOCK", template_id=template_id, shard=i,
                                       remaining=units[i]), condition=StockShard.PK.does_not_exist())
                tx.update(ManagedTemplate(template_pk(template_id), "TEMPLATE"),
                          actions=[ManagedTemplate.total_stock.add(add), ManagedTemplate.shards.set(wanted)],
                          condition=(ManagedTemplate.shards == n)
                          & (ManagedTemplate.total_stock == int(template.total_stock)))
                for i in range(n):
                    if units[i]:
                        tx.update(StockShard(shard_pk(template_id, i), "STOCK"),
                                  actions=[StockShard.remaining.add(units[i])], condition=StockShard.PK.exists())
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                _pause(attempt)
                continue  # another restock (or a claim on a shard at that instant): read again
            raise
        return get(template_id) or template
    raise Busy(template_id)
