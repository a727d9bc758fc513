"""Coupons: templates and their stock shards, member holdings, coupons and their codes; their keys and reads.

Its use cases are modules of their own: the claim (data/coupon_claims.py), the redemption and its record
(data/verification.py), the coupon's part in an order (data/coupon_orders.py). docs/coupons.md has the stock
design and its capacity; docs/data-model.md the keys and access patterns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.models import Entity, connection
from storeloop.domain.clock import parse_rfc3339
from storeloop.domain.coupons import CouponRule, split_stock, stock_shard_count
from storeloop.domain.sources import source_key

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})

_TEMPLATE_CACHE_LIMIT = 1_000
# Templates change only by an admin's edit or restock (services/template_admin.py): a warm container keeps one
# this long, so an edit or a restock reaches every container's claims within it.
TEMPLATE_CACHE_SECONDS = 5.0
_template_cache: dict[str, tuple[float, CouponTemplate]] = {}


class Throttled(Exception):
    """DynamoDB refused for capacity; the service answers 429 and the client retries."""


def _whole(value: Any) -> int | None:
    # NumberAttribute reads back int for whole numbers; int() also covers a Decimal from a raw client.
    return None if value is None else int(value)


# ---------------------------------------------------------------------------------------------- keys


def template_pk(template_id: str) -> str:
    return f"TEMPLATE#{template_id}"


def templates_pk(status: str) -> str:
    """GSI1 partition listing templates by status (`active` | `archived`), newest first by GSI1SK."""
    return f"TEMPLATES#{status}"


def shard_pk(template_id: str, shard: int) -> str:
    # Each shard its own partition key, so DynamoDB can place shards on different partitions.
    return f"STOCK#{template_id}#{shard:02d}"


def coupon_pk(coupon_id: str) -> str:
    return f"COUPON#{coupon_id}"


def code_pk(code: str) -> str:
    return f"CODE#{code}"


def member_coupons_partition(member_id: str) -> str:
    return f"MEMBER#{member_id}#COUPONS"


# ---------------------------------------------------------------------------------------------- models


class CouponTemplate(Entity):
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount_off_fen = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    max_off_fen = NumberAttribute(null=True)
    gift_sku = UnicodeAttribute(null=True)
    min_spend_fen = NumberAttribute(default=0)
    total_stock = NumberAttribute()
    per_member_limit = NumberAttribute(default=1)
    validity_type = UnicodeAttribute()  # fixed | relative
    validity_starts_at = UnicodeAttribute(null=True)
    validity_ends_at = UnicodeAttribute(null=True)
    validity_days = NumberAttribute(null=True)
    channels = ListAttribute(of=UnicodeAttribute)
    store_ids = ListAttribute(of=UnicodeAttribute)
    shards = NumberAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)
    # --- issue 9: coupon mechanics
    daily_limit = NumberAttribute(null=True)  # units issued per China day across all shoppers
    daily_shards = NumberAttribute(null=True)
    skus = ListAttribute(of=UnicodeAttribute, null=True)  # the lines the coupon applies to (None: all)
    return_on_refund = BooleanAttribute(null=True)

    def validity(self) -> dict[str, Any]:
        if self.validity_type == "fixed":
            return {"type": "fixed", "starts_at": self.validity_starts_at, "ends_at": self.validity_ends_at}
        return {"type": "relative", "days": int(self.validity_days)}

    def public(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id, "name": self.name, "kind": self.kind,
            "amount_off_fen": _whole(self.amount_off_fen), "percent_off": _whole(self.percent_off),
            "max_off_fen": _whole(self.max_off_fen), "gift_sku": self.gift_sku,
            "min_spend_fen": int(self.min_spend_fen or 0), "total_stock": int(self.total_stock),
            "per_member_limit": int(self.per_member_limit), "validity": self.validity(),
            "channels": list(self.channels or ()), "store_ids": list(self.store_ids or ()),
            "created_at": self.created_at,
            # issue 9
            "daily_limit": _whole(self.daily_limit), "skus": list(self.skus) if self.skus else None,
            "return_on_refund": bool(self.return_on_refund),
        }


class StockShard(Entity):
    template_id = UnicodeAttribute()
    shard = NumberAttribute()
    remaining = NumberAttribute()
    released = NumberAttribute(null=True)  # units a campaign's end took off (data/campaign_flow.release_shard)


class MemberHolding(Entity):
    """How many coupons of a template a member has claimed (PK MEMBER#<member_id>, SK HOLDING#<template_id>)."""

    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    claimed = NumberAttribute()


class Coupon(Entity):
    """One claimed coupon; the template's terms are copied onto it, so a later template change cannot alter it."""

    coupon_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    code = UnicodeAttribute()
    status = UnicodeAttribute()  # active | locked | redeemed | expired | revoked
    kind = UnicodeAttribute()
    amount_off_fen = NumberAttribute(null=True)
    percent_off = NumberAttribute(null=True)
    max_off_fen = NumberAttribute(null=True)
    gift_sku = UnicodeAttribute(null=True)
    min_spend_fen = NumberAttribute(default=0)
    valid_from = UnicodeAttribute()  # RFC 3339, +08:00; valid_until is exclusive
    valid_until = UnicodeAttribute()
    store_ids = ListAttribute(of=UnicodeAttribute)  # empty: every store
    channels = ListAttribute(of=UnicodeAttribute)
    claimed_at = UnicodeAttribute()
    redeemed_at = UnicodeAttribute(null=True)
    redeemed_store_id = UnicodeAttribute(null=True)
    verification_id = UnicodeAttribute(null=True)  # the redemption a reversal may undo
    locked_by_order = UnicodeAttribute(null=True)
    # --- issue 9: the template's scope and refund rule, and where the shopper came from
    skus = ListAttribute(of=UnicodeAttribute, null=True)
    return_on_refund = BooleanAttribute(null=True)
    source_channel = UnicodeAttribute(null=True)
    source_store_id = UnicodeAttribute(null=True)
    source_ref = UnicodeAttribute(null=True)

    def source(self) -> dict[str, Any]:
        return {"channel": self.source_channel or "direct", "store_id": self.source_store_id,
                "ref": self.source_ref}

    def source_key(self) -> str:
        return source_key(self.source_channel, self.source_store_id, self.source_ref)

    def status_at(self, now: datetime) -> str:
        """The status as the shopper and staff see it: an active coupon past valid_until is expired."""
        if self.status == "active" and now >= parse_rfc3339(self.valid_until):
            return "expired"
        return self.status

    def public(self, now: datetime) -> dict[str, Any]:
        """The API's Coupon (member_id and the order lock stay inside)."""
        return {
            "coupon_id": self.coupon_id, "template_id": self.template_id, "campaign_id": self.campaign_id,
            "code": self.code, "status": self.status_at(now), "kind": self.kind,
            "amount_off_fen": _whole(self.amount_off_fen), "percent_off": _whole(self.percent_off),
            "max_off_fen": _whole(self.max_off_fen), "gift_sku": self.gift_sku,
            "min_spend_fen": int(self.min_spend_fen or 0), "valid_from": self.valid_from,
            "valid_until": self.valid_until, "store_ids": list(self.store_ids or ()),
            "channels": list(self.channels or ()), "claimed_at": self.claimed_at, "redeemed_at": self.redeemed_at,
            "redeemed_store_id": self.redeemed_store_id,
            "skus": list(self.skus) if self.skus else None, "source": self.source(),  # issue 9
        }


class CouponCode(Entity):
    """PK CODE#<12 digits>: makes codes unique (conditional put) and finds the coupon a till typed in."""

    coupon_id = UnicodeAttribute()


# ---------------------------------------------------------------------------------------------- templates


def create_template(template_id: str, fields: dict[str, Any], created_at: str, created_by: str) -> CouponTemplate:
    """The template and its stock shards in one transaction: never a template without its stock."""
    total = int(fields["total_stock"])
    n = stock_shard_count(total)
    validity = fields["validity"]
    template = CouponTemplate(
        template_pk(template_id), "TEMPLATE", template_id=template_id, name=fields["name"], kind=fields["kind"],
        amount_off_fen=fields.get("amount_off_fen"), percent_off=fields.get("percent_off"),
        max_off_fen=fields.get("max_off_fen"), gift_sku=fields.get("gift_sku"),
        min_spend_fen=fields.get("min_spend_fen", 0), total_stock=total,
        per_member_limit=fields.get("per_member_limit", 1), validity_type=validity["type"],
        validity_starts_at=validity.get("starts_at"), validity_ends_at=validity.get("ends_at"),
        validity_days=validity.get("days"), channels=list(fields["channels"]), store_ids=list(fields["store_ids"]),
        shards=n, created_at=created_at, created_by=created_by,
        daily_limit=fields.get("daily_limit"),
        daily_shards=stock_shard_count(fields["daily_limit"]) if fields.get("daily_limit") else None,
        skus=list(fields["skus"]) if fields.get("skus") else None,
        return_on_refund=bool(fields.get("return_on_refund", False)),
        GSI1PK=templates_pk("active"), GSI1SK=f"{time.time_ns():020d}#{template_id}")  # HQ's list, newest last
    with TransactWrite(connection=connection()) as tx:
        tx.save(template, condition=CouponTemplate.PK.does_not_exist())
        for i, units in enumerate(split_stock(total, n)):
            tx.save(StockShard(shard_pk(template_id, i), "STOCK", template_id=template_id, shard=i, remaining=units),
                    condition=StockShard.PK.does_not_exist())
    return template


def get_template(template_id: str) -> CouponTemplate | None:
    try:
        return CouponTemplate.get(template_pk(template_id), "TEMPLATE")
    except DoesNotExist:
        return None


def cached_template(template_id: str) -> CouponTemplate | None:
    """A warm container keeps a template TEMPLATE_CACHE_SECONDS: a claim then reads no template item.

    At a flash sale's 10,000 claims/s one template item read per claim would exceed what one partition serves.
    """
    hit = _template_cache.get(template_id)
    if hit is not None and time.monotonic() - hit[0] < TEMPLATE_CACHE_SECONDS:
        return hit[1]
    template = get_template(template_id)
    if template is not None:
        if len(_template_cache) >= _TEMPLATE_CACHE_LIMIT:
            _template_cache.clear()
        _template_cache[template_id] = (time.monotonic(), template)
    return template


def forget_template(template_id: str) -> None:
    _template_cache.pop(template_id, None)


def get_templates(template_ids: Iterable[str]) -> dict[str, CouponTemplate]:
    keys = [(template_pk(t), "TEMPLATE") for t in dict.fromkeys(template_ids)]
    return {t.template_id: t for t in CouponTemplate.batch_get(keys)} if keys else {}


def remaining_stock(templates: Iterable[CouponTemplate]) -> dict[str, int]:
    """`remaining` per template: the sum of its shards (one BatchGetItem for up to 100 shards)."""
    keys = [(shard_pk(t.template_id, i), "STOCK") for t in templates for i in range(int(t.shards))]
    totals: dict[str, int] = {}
    for shard in StockShard.batch_get(keys) if keys else []:
        totals[shard.template_id] = totals.get(shard.template_id, 0) + int(shard.remaining)
    return totals


# ---------------------------------------------------------------------------------------------- errors


def raise_if_throttled(exc: Exception) -> None:
    """Throttled for a refusal for capacity (a non-cancellation error of a transaction); else nothing."""
    if getattr(exc, "cause_response_code", None) in ("ThrottlingException", "ProvisionedThroughputExceededException",
                                                    "RequestLimitExceeded"):
        raise Throttled() from None


# ---------------------------------------------------------------------------------------------- coupons


def get_coupon(coupon_id: str, *, consistent: bool = False) -> Coupon | None:
    try:
        return Coupon.get(coupon_pk(coupon_id), "COUPON", consistent_read=consistent)
    except DoesNotExist:
        return None


def coupon_id_for_code(code: str) -> str | None:
    try:
        return CouponCode.get(code_pk(code), "CODE", consistent_read=True).coupon_id
    except DoesNotExist:
        return None


def coupon_rule(coupon: Coupon) -> CouponRule:
    """The coupon's own terms as the domain rule (validity is on the coupon: valid_from, valid_until)."""
    return CouponRule(kind=coupon.kind, amount_off_fen=_whole(coupon.amount_off_fen),  # type: ignore[arg-type]
                      percent_off=_whole(coupon.percent_off), max_off_fen=_whole(coupon.max_off_fen),
                      gift_sku=coupon.gift_sku, min_spend_fen=int(coupon.min_spend_fen or 0),
                      channels=tuple(coupon.channels or ()),  # type: ignore[arg-type]
                      store_ids=tuple(str(s) for s in coupon.store_ids or ()),
                      skus=tuple(str(s) for s in coupon.skus or ()))


def coupon_window(coupon: Coupon) -> tuple[datetime, datetime]:
    return parse_rfc3339(coupon.valid_from), parse_rfc3339(coupon.valid_until)


COUPON_LIST_KEY_NAMES = ("PK", "SK", "GSI1PK", "GSI1SK")


def _member_coupon_key(key: dict[str, str]) -> bool:
    return all(len(v) <= 200 for v in key.values()) and key["PK"] == coupon_pk(key["GSI1SK"].rpartition("#")[2])


def member_coupons(member_id: str, status: str | None, now: str, limit: int, cursor: str | None
                   ) -> tuple[list[Coupon], str | None]:
    """A member's coupons, newest claim first, optionally by status as the member sees it (a page at a time).

    One Query on GSI1 `MEMBER#<id>#COUPONS`. An active coupon past valid_until reads as expired, so `active`
    and `expired` filter on valid_until as well (the strings compare as times: all are +08:00, whole seconds).
    The cursor comes back from the client: one naming another member's partition must not page through it (400).
    """
    start_key = cursors.start_key(cursor, COUPON_LIST_KEY_NAMES, GSI1PK=member_coupons_partition(member_id),
                                  SK="COUPON", check=_member_coupon_key)
    condition = None
    if status == "active":
        condition = (Coupon.status == "active") & (Coupon.valid_until > now)
    elif status == "expired":
        condition = (Coupon.status == "expired") | ((Coupon.status == "active") & (Coupon.valid_until <= now))
    elif status is not None:
        condition = Coupon.status == status
    query = Coupon.gsi1.query(member_coupons_partition(member_id), filter_condition=condition,
                              scan_index_forward=False, limit=limit + 1, page_size=limit + 1,
                              last_evaluated_key={k: {"S": v} for k, v in start_key.items()} if start_key else None)
    items = cast(list[Coupon], list(query))  # GSI1 is declared on Entity; this partition holds only Coupon items
    if len(items) <= limit:
        return items, None
    last = items[limit - 1]
    return items[:limit], cursors.next_cursor({name: getattr(last, name) for name in COUPON_LIST_KEY_NAMES})
