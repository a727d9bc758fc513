"""Coupons: templates and their stock shards, member holdings, coupons and their codes, verifications.

The claim is one TransactWriteItems of four items (coupon, code, stock shard, member holding), so stock never goes
below zero and a member never holds more than the template's limit, at any contention. docs/coupons.md has the
stock design and its capacity; docs/data-model.md the keys and access patterns.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors, members
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.domain.clock import CN_TZ, parse_rfc3339, to_rfc3339
from storeloop.domain.coupons import CouponRule, generate_coupon_code, split_stock, stock_shard_count, validity_window
from storeloop.domain.errors import ClaimLimitReached, DailyLimitReached, SoldOut
from storeloop.domain.sources import source_key

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})

# A fresh code and coupon id after a collision (1 in 10^12 per live code) or a transaction conflict.
MAX_CLAIM_RETRIES = 5
# Claims never add units (a reversal or an order's release restores the coupon, not the stock); only a restock
# does, and a restock raises the template's total_stock. So a shard seen empty stays empty for that total: this
# process skips it from then on (keyed by shard and total, `_empty_key`), and a sold-out template answers SOLD_OUT
# without a write. Bounded so a long-lived container does not grow without end.
_KNOWN_EMPTY_LIMIT = 50_000
_known_empty: set[str] = set()
_known_empty_lock = threading.Lock()
_TEMPLATE_CACHE_LIMIT = 1_000
# Templates change only by an admin's edit or restock (services/template_admin.py): a warm container keeps one
# this long, so an edit or a restock reaches every container's claims within it.
TEMPLATE_CACHE_SECONDS = 5.0
_template_cache: dict[str, tuple[float, CouponTemplate]] = {}
_shuffle = random.Random()  # noqa: S311 - spreads load over shards; nothing secret depends on it


class AlreadyClaimed(Exception):
    """A claim with a given coupon id found that coupon already written (a retried grant)."""


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


def verification_pk(verification_id: str) -> str:
    return f"VERIFICATION#{verification_id}"


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


class DailyShard(Entity):
    """Issue 9: units of a template issued on one China day, one of `daily_shards` items (PK
    DAILY#<template>#<day>#<nn>), each capped at its share of `daily_limit`; expires (TTL) days later."""

    issued = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


DAILY_SHARD_TTL_SECONDS = 3 * 86_400


def daily_shard_pk(template_id: str, day: str, shard: int) -> str:
    return f"DAILY#{template_id}#{day}#{shard:02d}"


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


class Verification(Entity):
    verification_id = UnicodeAttribute()
    coupon_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    staff_member_id = UnicodeAttribute(null=True)  # None when a POS sale redeemed it
    channel = UnicodeAttribute()
    spend_fen = NumberAttribute(null=True)
    discount_fen = NumberAttribute()
    verified_at = UnicodeAttribute()
    reversed_at = UnicodeAttribute(null=True)
    reversed_by = UnicodeAttribute(null=True)


def new_verification(verification_id: str, coupon: Coupon, store_id: str, staff_member_id: str | None, channel: str,
                     spend_fen: int | None, discount_fen: int, when: str) -> Verification:
    """A redemption's record, listed by store (GSI1) and by campaign (GSI2): at a till, by POS, or online."""
    return Verification(
        verification_pk(verification_id), "VERIFICATION", verification_id=verification_id,
        coupon_id=coupon.coupon_id, member_id=coupon.member_id, template_id=coupon.template_id,
        campaign_id=coupon.campaign_id, store_id=store_id, staff_member_id=staff_member_id, channel=channel,
        spend_fen=spend_fen, discount_fen=discount_fen, verified_at=when,
        GSI1PK=f"STORE#{store_id}#VERIFICATIONS", GSI1SK=f"{when}#{verification_id}",
        GSI2PK=f"CAMPAIGN#{coupon.campaign_id}#VERIFICATIONS", GSI2SK=f"{when}#{verification_id}")


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


def _empty_key(template: CouponTemplate, shard: int) -> str:
    return f"{shard_pk(template.template_id, shard)}@{int(template.total_stock)}"


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


# ---------------------------------------------------------------------------------------------- claims


def _remember_empty(pk: str) -> None:
    with _known_empty_lock:
        if len(_known_empty) >= _KNOWN_EMPTY_LIMIT:
            _known_empty.clear()
        _known_empty.add(pk)


def _shards_in_stock(template: CouponTemplate, shards: list[int]) -> list[int]:
    """Of `shards`, those that still had stock on a (cheap, eventually consistent) read.

    A stale read can only show more stock than there is, never less, since stock only goes down: a shard read
    as empty is empty, and a stale non-zero costs at most one failed transaction.
    """
    found = {int(s.shard): int(s.remaining)
             for s in StockShard.batch_get([(shard_pk(template.template_id, i), "STOCK") for i in shards])}
    for i in shards:
        if found.get(i, 0) <= 0:
            _remember_empty(_empty_key(template, i))
    return [i for i in shards if found.get(i, 0) > 0]


def _day_shards_open(template_id: str, day: str, shards: list[int], caps: list[int]) -> list[int]:
    """Of today's `shards`, those below their cap on a (cheap, eventually consistent) read; the full ones are
    remembered (a day's count only grows), as for the stock."""
    found = {int(d.PK.rsplit("#", 1)[1]): int(d.issued or 0)
             for d in DailyShard.batch_get([(daily_shard_pk(template_id, day, i), "DAILY") for i in shards])}
    for i in shards:
        if found.get(i, 0) >= caps[i]:
            _remember_empty(daily_shard_pk(template_id, day, i))
    return [i for i in shards if found.get(i, 0) < caps[i]]


class ExtraRefused(Exception):
    """The caller's own item in a claim (`extra`, e.g. an exchange code) failed its condition; nothing changed."""


def _today_shards(template: CouponTemplate, day: str) -> list[int]:
    n = int(template.daily_shards or 0)
    shards = [i for i in range(n) if daily_shard_pk(template.template_id, day, i) not in _known_empty]
    _shuffle.shuffle(shards)
    return shards


def claim(template: CouponTemplate, campaign_id: str, member_id: str, claimed_at: datetime, *,
          source: dict[str, Any] | None = None, extra: Callable[[TransactWrite], None] | None = None,
          coupon_id: str | None = None) -> Coupon:
    """Claim one coupon of `template` for `member_id`: one transaction per attempt, SoldOut or ClaimLimitReached
    (or DailyLimitReached; ExtraRefused when the caller's `extra` item failed its condition).

    The transaction (pynamodb sends puts before updates, so the cancellation reasons come in this order):
      0. put the coupon         attribute_not_exists(PK)
      1. put its code           attribute_not_exists(PK): codes are unique
      2. take 1 from a shard    remaining > 0: no oversell
      3. count the holding      attribute_not_exists(claimed) OR claimed < per_member_limit
      4. (daily_limit) count today's shard   issued < its share of daily_limit: no hot item, like the stock
      5. (extra) the caller's own update, e.g. an exchange code marked used
    A random shard first; when it is empty, one read finds which others still have stock and those are tried
    in turn before SOLD_OUT. A code collision or a transaction conflict retries with fresh ids.
    `source` (issue 9: channel, store_id, ref) is kept on the coupon.
    A `coupon_id` given by the caller (a grant that must happen once) makes a repeat raise AlreadyClaimed.
    """
    fixed_id = coupon_id
    template_id = template.template_id
    limit = int(template.per_member_limit)
    valid_from, valid_until = validity_window(template.validity(), claimed_at)
    at = to_rfc3339(claimed_at)
    source = source or {}
    shards = [i for i in range(int(template.shards)) if _empty_key(template, i) not in _known_empty]
    _shuffle.shuffle(shards)
    daily = bool(template.daily_limit)
    day = claimed_at.astimezone(CN_TZ).date().isoformat()
    day_caps = split_stock(int(template.daily_limit), int(template.daily_shards)) if daily else []
    day_shards = _today_shards(template, day) if daily else []
    swept = day_swept = False
    retries = 0
    while shards:
        if daily and not day_shards:
            raise DailyLimitReached()
        shard = shards[0]
        coupon_id = fixed_id or "c_" + uuid.uuid4().hex[:20]
        code = generate_coupon_code()
        coupon = Coupon(
            coupon_pk(coupon_id), "COUPON", coupon_id=coupon_id, member_id=member_id, template_id=template_id,
            campaign_id=campaign_id, code=code, status="active", kind=template.kind,
            amount_off_fen=template.amount_off_fen, percent_off=template.percent_off,
            max_off_fen=template.max_off_fen, gift_sku=template.gift_sku, min_spend_fen=template.min_spend_fen,
            valid_from=to_rfc3339(valid_from), valid_until=to_rfc3339(valid_until),
            store_ids=list(template.store_ids), channels=list(template.channels), claimed_at=at,
            skus=list(template.skus) if template.skus else None, return_on_refund=template.return_on_refund,
            source_channel=source.get("channel"), source_store_id=source.get("store_id"),
            source_ref=source.get("ref"),
            GSI1PK=member_coupons_partition(member_id), GSI1SK=f"{at}#{coupon_id}")
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.save(coupon, condition=Coupon.PK.does_not_exist())
                tx.save(CouponCode(code_pk(code), "CODE", coupon_id=coupon_id),
                        condition=CouponCode.PK.does_not_exist())
                tx.update(StockShard(shard_pk(template_id, shard), "STOCK"),
                          actions=[StockShard.remaining.add(-1)], condition=StockShard.remaining > 0)
                tx.update(MemberHolding(members.member_pk(member_id), f"HOLDING#{template_id}"),
                          actions=[MemberHolding.claimed.add(1), MemberHolding.member_id.set(member_id),
                                   MemberHolding.template_id.set(template_id)],
                          condition=MemberHolding.claimed.does_not_exist() | (MemberHolding.claimed < limit))
                if daily:
                    d = day_shards[0]
                    expires = int(claimed_at.timestamp()) + DAILY_SHARD_TTL_SECONDS
                    tx.update(DailyShard(daily_shard_pk(template_id, day, d), "DAILY"),
                              actions=[DailyShard.issued.add(1), DailyShard.expires_at.set(expires)],
                              condition=DailyShard.issued.does_not_exist() | (DailyShard.issued < day_caps[d]))
                if extra is not None:
                    extra(tx)
            return coupon
        except TransactWriteError as exc:
            codes = cancellation_codes(exc) + [None] * 6  # padded: [] when it was not a cancellation
            if not any(codes):
                _raise_if_throttled(exc)
                raise
            if fixed_id and codes[0] == CONDITION_FAILED:
                raise AlreadyClaimed() from None
            extra_at = 5 if daily else 4
            if extra is not None and codes[extra_at] == CONDITION_FAILED:
                raise ExtraRefused() from None
            if codes[3] == CONDITION_FAILED:
                raise ClaimLimitReached() from None
            if codes[2] == CONDITION_FAILED:
                _remember_empty(_empty_key(template, shard))
                shards.pop(0)
                if not swept and shards:
                    shards = _shards_in_stock(template, shards)
                    swept = True
                continue
            if daily and codes[4] == CONDITION_FAILED:
                _remember_empty(daily_shard_pk(template_id, day, day_shards.pop(0)))  # full for the rest of the day
                if not day_swept and day_shards:
                    day_shards = _day_shards_open(template_id, day, day_shards, day_caps)
                    day_swept = True
                continue
            if any(c in THROTTLED for c in codes):
                raise Throttled() from None
            retries += 1
            if retries > MAX_CLAIM_RETRIES:
                raise
            if TRANSACTION_CONFLICT in codes and len(shards) > 1:
                shards.append(shards.pop(0))  # another claim holds this shard right now: try the next one
            if daily and TRANSACTION_CONFLICT in codes and len(day_shards) > 1:
                day_shards.append(day_shards.pop(0))
    raise SoldOut()


def _raise_if_throttled(exc: Exception) -> None:
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


# ---------------------------------------------------------------------------------------------- verification


class RedeemConflict(Exception):
    """The redemption transaction did not apply; `exc` is pynamodb's error (for failures in the caller's items)."""

    def __init__(self, exc: TransactWriteError, codes: list[str | None]) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.codes = codes


def redeem(coupon: Coupon, store_id: str, staff_member_id: str | None, channel: str, spend_fen: int | None,
           discount: int, at: datetime, *, tx_extra: Callable[[TransactWrite], None] | None = None,
           start_membership: bool = True) -> Verification:
    """active → redeemed, the verification record and the start of membership, in one transaction.

    RedeemConflict when it did not apply (the caller re-reads the coupon to say why). `tx_extra` adds the
    caller's own actions to the same transaction.
    """
    when = to_rfc3339(at)
    verification_id = "v_" + uuid.uuid4().hex[:20]
    verification = new_verification(verification_id, coupon, store_id, staff_member_id, channel, spend_fen,
                                    discount, when)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(Coupon(coupon_pk(coupon.coupon_id), "COUPON"),
                      actions=[Coupon.status.set("redeemed"), Coupon.redeemed_at.set(when),
                               Coupon.redeemed_store_id.set(store_id), Coupon.verification_id.set(verification_id)],
                      condition=Coupon.status == "active")
            tx.save(verification, condition=Verification.PK.does_not_exist())
            if start_membership:
                members.start_membership(tx, coupon.member_id, when, store_id, coupon.campaign_id,
                                         source=coupon.source_key())
            if tx_extra is not None:
                tx_extra(tx)
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if not any(codes):
            _raise_if_throttled(exc)
            raise
        raise RedeemConflict(exc, codes) from None
    return verification


def get_verification(verification_id: str, *, consistent: bool = False) -> Verification | None:
    try:
        return Verification.get(verification_pk(verification_id), "VERIFICATION", consistent_read=consistent)
    except DoesNotExist:
        return None


def reverse(verification: Verification, by: str, at: datetime) -> None:
    """Mark the verification reversed and the coupon active again, once: RedeemConflict if it did not apply."""
    when = to_rfc3339(at)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(Verification(verification_pk(verification.verification_id), "VERIFICATION"),
                      actions=[Verification.reversed_at.set(when), Verification.reversed_by.set(by)],
                      condition=Verification.reversed_at.does_not_exist())
            tx.update(Coupon(coupon_pk(verification.coupon_id), "COUPON"),
                      actions=[Coupon.status.set("active"), Coupon.redeemed_at.remove(),
                               Coupon.redeemed_store_id.remove(), Coupon.verification_id.remove()],
                      condition=(Coupon.status == "redeemed")
                      & (Coupon.verification_id == verification.verification_id))
    except TransactWriteError as exc:
        codes = cancellation_codes(exc)
        if not any(codes):
            _raise_if_throttled(exc)
            raise
        raise RedeemConflict(exc, codes) from None

