"""Claims: one coupon of a template for a member, in one transaction with its code, a stock shard and the holding.

The claim is one TransactWriteItems of four items (coupon, code, stock shard, member holding), so stock never goes
below zero and a member never holds more than the template's limit, at any contention. docs/coupons.md has the
stock design and its capacity; the models and keys are data/coupons.py's.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import members
from storeloop.data.coupons import (
    CONDITION_FAILED,
    THROTTLED,
    TRANSACTION_CONFLICT,
    Coupon,
    CouponCode,
    CouponTemplate,
    MemberHolding,
    StockShard,
    Throttled,
    code_pk,
    coupon_pk,
    member_coupons_partition,
    raise_if_throttled,
    shard_pk,
)
from storeloop.data.models import Entity, cancellation_codes, connection
from storeloop.domain.clock import CN_TZ, to_rfc3339
from storeloop.domain.coupons import generate_coupon_code, split_stock, validity_window
from storeloop.domain.errors import ClaimLimitReached, DailyLimitReached, SoldOut

# A fresh code and coupon id after a collision (1 in 10^12 per live code) or a transaction conflict.
MAX_CLAIM_RETRIES = 5
# Claims never add units (a reversal or an order's release restores the coupon, not the stock); only a restock
# does, and a restock raises the template's total_stock. So a shard seen empty stays empty for that total: this
# process skips it from then on (keyed by shard and total, `_empty_key`), and a sold-out template answers SOLD_OUT
# without a write. Bounded so a long-lived container does not grow without end.
_KNOWN_EMPTY_LIMIT = 50_000
_known_empty: set[str] = set()
_known_empty_lock = threading.Lock()

_shuffle = random.Random()  # noqa: S311 - spreads load over shards; nothing secret depends on it

class AlreadyClaimed(Exception):
    """A claim with a given coupon id found that coupon already written (a retried grant)."""


class ClaimBusy(Exception):
    """Code collisions or transaction conflicts outlasted the claim's retries; nothing changed."""


class DailyShard(Entity):
    """Issue 9: units of a template issued on one China day, one of `daily_shards` items (PK
    DAILY#<template>#<day>#<nn>), each capped at its share of `daily_limit`; expires (TTL) days later."""

    issued = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


DAILY_SHARD_TTL_SECONDS = 3 * 86_400


def daily_shard_pk(template_id: str, day: str, shard: int) -> str:
    return f"DAILY#{template_id}#{day}#{shard:02d}"


def _empty_key(template: CouponTemplate, shard: int) -> str:
    return f"{shard_pk(template.template_id, shard)}@{int(template.total_stock)}"


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
                raise_if_throttled(exc)
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
                raise ClaimBusy() from exc
            if TRANSACTION_CONFLICT in codes and len(shards) > 1:
                shards.append(shards.pop(0))  # another claim holds this shard right now: try the next one
            if daily and TRANSACTION_CONFLICT in codes and len(day_shards) > 1:
                day_shards.append(day_shards.pop(0))
    raise SoldOut()
