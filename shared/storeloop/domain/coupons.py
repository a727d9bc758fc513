"""Coupon rules: validity windows, discounts, redeemability, stock sharding and coupon codes."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

from storeloop.domain.clock import parse_rfc3339, require_aware
from storeloop.domain.errors import (
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponNotApplicable,
    CouponNotValidHere,
    CouponNotYetValid,
    MinSpendNotMet,
)

CouponKind = Literal["cash_off", "percent_off", "gift"]
Channel = Literal["store", "online"]
CouponStatus = Literal["active", "locked", "redeemed", "expired", "revoked"]

COUPON_KINDS: Final[frozenset[str]] = frozenset(get_args(CouponKind))
CHANNELS: Final[frozenset[str]] = frozenset(get_args(Channel))
COUPON_STATUSES: Final[frozenset[str]] = frozenset(get_args(CouponStatus))

COUPON_CODE_DIGITS: Final = 12


def _require_int(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    # bool is an int subclass; True fen or True percent is always a caller bug, and so is 1.0.
    if isinstance(value, bool) or not isinstance(value, int):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value


@dataclass(frozen=True)
class CouponRule:
    """What a coupon template promises, independent of who holds it.

    Built from a template (`POST /admin/coupon-templates`) or the copy of its terms stored on each
    coupon. Invalid combinations raise ValueError at construction, so a rule in hand is always usable.
    """

    kind: CouponKind
    amount_off_fen: int | None = None  # cash_off
    percent_off: int | None = None  # percent_off, 1..99
    max_off_fen: int | None = None  # percent_off, optional cap on the discount
    gift_sku: str | None = None  # gift
    min_spend_fen: int = 0
    channels: tuple[Channel, ...] = ("store", "online")
    store_ids: tuple[str, ...] = ()  # empty: every store
    skus: tuple[str, ...] = ()  # issue 9: empty, every line; else the coupon applies to these lines only
    # The template's validity; None for a rule rebuilt from a coupon, which carries its own window.
    # Left out of the hash (a dict is unhashable) but still compared.
    validity: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        # Accept lists from JSON but keep the rule immutable. A bare string would silently become a
        # tuple of characters ("sh-001" -> "s", "h", ...), so it is refused.
        for name in ("channels", "store_ids", "skus"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise ValueError(f"{name} must be a list of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.validity is not None:
            if not isinstance(self.validity, Mapping):
                raise ValueError(f"validity must be an object, got {self.validity!r}")
            object.__setattr__(self, "validity", dict(self.validity))

        if self.kind not in COUPON_KINDS:
            raise ValueError(f"kind must be one of {sorted(COUPON_KINDS)}, got {self.kind!r}")
        if self.kind == "cash_off":
            _require_int(self.amount_off_fen, "amount_off_fen", 1)
        if self.kind == "percent_off":
            _require_int(self.percent_off, "percent_off", 1, 99)
            if self.max_off_fen is not None:
                _require_int(self.max_off_fen, "max_off_fen", 1)
        if self.kind == "gift" and not (isinstance(self.gift_sku, str) and self.gift_sku):
            raise ValueError("gift_sku is required for a gift coupon")
        _require_int(self.min_spend_fen, "min_spend_fen", 0)
        if not self.channels:
            raise ValueError("channels must name at least one channel")
        unknown = set(self.channels) - CHANNELS
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}; allowed {sorted(CHANNELS)}")
        if not all(isinstance(s, str) and s for s in self.store_ids):
            raise ValueError("store_ids must be non-empty strings")
        if self.validity is not None:
            _check_validity(self.validity)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CouponRule:
        """Build from a template body or stored coupon, ignoring keys that are not rule terms."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names and v is not None})

    def allows_store(self, store_id: str | None) -> bool:
        return not self.store_ids or store_id in self.store_ids

    def allows_channel(self, channel: str) -> bool:
        return channel in self.channels


def _check_validity(validity: Mapping[str, Any]) -> None:
    kind = validity.get("type")
    if kind == "fixed":
        starts_at = _as_datetime(validity.get("starts_at"), "validity.starts_at")
        ends_at = _as_datetime(validity.get("ends_at"), "validity.ends_at")
        if ends_at <= starts_at:
            raise ValueError("validity.ends_at must be after validity.starts_at")
    elif kind == "relative":
        _require_int(validity.get("days"), "validity.days", 1)
    else:
        raise ValueError(f"validity.type must be 'fixed' or 'relative', got {kind!r}")


def _as_datetime(value: object, name: str) -> datetime:
    if isinstance(value, str):
        return parse_rfc3339(value)
    if isinstance(value, datetime):
        return require_aware(value, name)
    raise ValueError(f"{name} must be an RFC 3339 string or an aware datetime, got {value!r}")


def validity_window(validity: Mapping[str, Any], claimed_at: datetime) -> tuple[datetime, datetime]:
    """The `(valid_from, valid_until)` of a coupon claimed at `claimed_at`; valid_until is exclusive.

    - `{"type": "fixed", "starts_at", "ends_at"}`: the template's own window, whenever it was claimed
      (the campaign, not this rule, stops claims after the window).
    - `{"type": "relative", "days": n}`: from the claim to exactly n × 24 h after it, so a coupon
      claimed at 14:00 stays usable until 14:00 n days later, not to an earlier midnight.
    """
    require_aware(claimed_at, "claimed_at")
    _check_validity(validity)
    if validity["type"] == "fixed":
        return (
            _as_datetime(validity["starts_at"], "validity.starts_at"),
            _as_datetime(validity["ends_at"], "validity.ends_at"),
        )
    return claimed_at, claimed_at + timedelta(days=validity["days"])


def discount_fen(rule: CouponRule, spend_fen: int) -> int:
    """The discount on `spend_fen`, in fen, never more than the spend.

    - cash_off: the amount, capped at the spend (a 20-yuan coupon on a 15-yuan coffee takes 15 off).
    - percent_off: floor(spend × percent / 100) in integer arithmetic, so rounding always favours the
      store, then capped at `max_off_fen` when set.
    - gift: 0; the gift is an item handed over, not money off.
    """
    _require_int(spend_fen, "spend_fen", 0)
    if rule.kind == "cash_off":
        assert rule.amount_off_fen is not None
        return min(rule.amount_off_fen, spend_fen)
    if rule.kind == "percent_off":
        assert rule.percent_off is not None
        off = spend_fen * rule.percent_off // 100
        if rule.max_off_fen is not None:
            off = min(off, rule.max_off_fen)
        return off
    return 0


def check_redeemable(
    rule: CouponRule,
    status: str,
    valid_from: datetime,
    valid_until: datetime,
    store_id: str | None,
    channel: str,
    spend_fen: int | None,
    now: datetime,
) -> None:
    """Raise the first reason this coupon cannot be used now, or return None.

    Precedence, first match wins (the most permanent reason is reported first, so staff are never
    told "wrong store" about a coupon that could not be used anywhere):
      1. status redeemed or locked        -> CouponAlreadyRedeemed
      2. status expired or revoked,
         or now >= valid_until            -> CouponExpired (valid_until is exclusive)
      3. now < valid_from                 -> CouponNotYetValid
      4. store or channel not allowed     -> CouponNotValidHere
      5. spend_fen given and < min spend  -> MinSpendNotMet (spend None: not known yet, not checked)

    A locked coupon is reserved by an unpaid order. We report it as already redeemed, because for the
    clerk and the shopper it is spoken for right now; API.md has no separate code, and the lock is
    released (status back to active) only if that order is cancelled or times out.
    A revoked coupon reports CouponExpired for the same reason: no dedicated code, and it is as
    unusable as an expired one.
    """
    if status not in COUPON_STATUSES:
        raise ValueError(f"unknown coupon status {status!r}")
    require_aware(valid_from, "valid_from")
    require_aware(valid_until, "valid_until")
    require_aware(now, "now")
    if spend_fen is not None:
        _require_int(spend_fen, "spend_fen", 0)

    if status == "redeemed":
        raise CouponAlreadyRedeemed()
    if status == "locked":
        raise CouponAlreadyRedeemed("This coupon is held by an unpaid order.")
    if status in ("expired", "revoked") or now >= valid_until:
        raise CouponExpired()
    if now < valid_from:
        raise CouponNotYetValid(details={"valid_from": valid_from.isoformat()})
    if not rule.allows_store(store_id):
        raise CouponNotValidHere("This coupon cannot be used at this store.")
    if not rule.allows_channel(channel):
        raise CouponNotValidHere(f"This coupon cannot be used through the {channel} channel.")
    if spend_fen is not None and spend_fen < rule.min_spend_fen:
        raise MinSpendNotMet(details={"min_spend_fen": rule.min_spend_fen, "spend_fen": spend_fen})


# --- sku scope (issue 9) -----------------------------------------------------------------------------


def applicable_spend(rule: CouponRule, lines: Sequence[tuple[str, int, int]] | None, spend_fen: int | None
                     ) -> int | None:
    """The spend a coupon's discount and minimum apply to: the lines of its `skus` when it has a scope and the lines
    are known (`lines` are (sku, qty, unit price)); otherwise `spend_fen` as given.

    A scoped coupon on lines none of which it covers raises CouponNotApplicable.
    """
    if not rule.skus or lines is None:
        return spend_fen
    covered = [qty * price for sku, qty, price in lines if sku in rule.skus]
    if not covered:
        raise CouponNotApplicable(details={"skus": list(rule.skus)})
    return sum(covered)


# --- stock sharding ----------------------------------------------------------------------------------
#
# DynamoDB gives one partition at most 1,000 WCU/s, and one item always lives in one partition, so a
# single "remaining stock" item caps a flash sale at what one item can absorb. A claim is a
# TransactWriteItems (decrement a shard with `remaining > 0`, put the coupon, bump the member's count);
# transactional writes cost 2 WCU per item of up to 1 KB, so one shard item takes at most
# 1,000 / 2 = 500 claims/s. To sustain 10,000 claims/s we need 10,000 × 2 / 1,000 = 20 shards, each
# its own key so DynamoDB can place them on separate partitions.
PARTITION_WCU_PER_SECOND: Final = 1_000
WCU_PER_CLAIM_ON_SHARD: Final = 2
TARGET_CLAIMS_PER_SECOND: Final = 10_000


def _ceil_div(numerator: int, denominator: int) -> int:
    # Integer ceiling: exact for any size, where math.ceil(a / b) would go through a float.
    return -(-numerator // denominator)


MAX_STOCK_SHARDS: Final = _ceil_div(TARGET_CLAIMS_PER_SECOND * WCU_PER_CLAIM_ON_SHARD, PARTITION_WCU_PER_SECOND)  # 20
MIN_UNITS_PER_SHARD: Final = 100


def stock_shard_count(total_stock: int) -> int:
    """How many stock shards a template with `total_stock` units gets.

    Formula: `min(MAX_STOCK_SHARDS, max(1, ceil(total_stock / MIN_UNITS_PER_SHARD)))`, i.e.
      - 1 shard up to 100 units: even at 500 claims/s a single item sells 100 units in 0.2 s, and
        one shard makes "sold out" a single conditional write with no fallback;
      - one more shard per 100 units above that, so each shard keeps at least ~50 units and a claim
        that lands on an emptied shard rarely has to retry on another;
      - at most 20 shards (from 2,000 units on): 20 × 1,000 WCU/s ÷ 2 WCU per claim = 10,000 claims/s,
        our peak target; more shards would only lengthen the sold-out sweep and `remaining` sums.
    Never more shards than units (each shard holds at least one), and at least 1 even for 0 units,
    so a template always has a shard to hold its (empty) stock.
    """
    _require_int(total_stock, "total_stock", 0)
    return min(MAX_STOCK_SHARDS, max(1, _ceil_div(total_stock, MIN_UNITS_PER_SHARD)))


def split_stock(total: int, n: int) -> list[int]:
    """Split `total` units across `n` shards: sums to `total`, sizes differ by at most 1, larger first."""
    _require_int(total, "total", 0)
    _require_int(n, "n", 1)
    base, extra = divmod(total, n)
    return [base + 1] * extra + [base] * (n - extra)


# --- coupon codes ------------------------------------------------------------------------------------


def generate_coupon_code() -> str:
    """A 12-digit code for typing at a till, from the OS CSPRNG; leading zeros kept (10^12 codes).

    Unguessable rather than sequential: 10^12 codes leave a guesser about 1 in a million per try even
    with a million live coupons, and verification is rate-limited and staff-only. Uniqueness is
    enforced by the data layer's conditional put, which retries on the rare collision.
    """
    return f"{secrets.randbelow(10**COUPON_CODE_DIGITS):0{COUPON_CODE_DIGITS}d}"


def looks_like_coupon_code(value: str) -> bool:
    """True for exactly 12 ASCII digits, telling a typed coupon code from a scanned QR token."""
    return isinstance(value, str) and len(value) == COUPON_CODE_DIGITS and value.isascii() and value.isdigit()
