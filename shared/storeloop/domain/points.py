"""Points: earning per yuan paid, spending as money off, membership tiers and refund clawback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Final

# API.md: 100 points = 1 yuan off = 100 fen, so one point is worth exactly one fen.
POINTS_PER_YUAN_OFF: Final = 100
FEN_PER_YUAN: Final = 100
FEN_PER_POINT: Final = FEN_PER_YUAN // POINTS_PER_YUAN_OFF  # 1

# WeChat Pay rejects a 0-fen payment, so an order always leaves at least this much to pay.
MIN_PAYABLE_FEN: Final = 1

# Lifetime spend (fen) from which each tier applies: 1,000 yuan for silver, 5,000 yuan for gold.
DEFAULT_TIER_THRESHOLDS: Final[Mapping[str, int]] = {
    "bronze": 0,
    "silver": 100_000,
    "gold": 500_000,
}


def _require_int(value: object, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def points_earned(paid_fen: int, points_per_yuan: int) -> int:
    """Points for a payment: `points_per_yuan` for each whole yuan paid; the fen remainder earns nothing.

    `points_per_yuan` is the POINTS_PER_YUAN setting, passed in so the rule reads no environment.
    """
    _require_int(paid_fen, "paid_fen")
    _require_int(points_per_yuan, "points_per_yuan")
    return (paid_fen // FEN_PER_YUAN) * points_per_yuan


def points_value_fen(points: int) -> int:
    """The money-off value of `points`: 100 points = 1 yuan = 100 fen, i.e. 1 point = 1 fen."""
    _require_int(points, "points")
    return points * FEN_PER_POINT


def max_points_usable(balance: int, payable_before_points_fen: int) -> int:
    """The most points an order may use: no more than the balance, and never so many that less than
    MIN_PAYABLE_FEN (1 fen) is left to pay, since WeChat Pay cannot take a 0-fen payment.
    """
    _require_int(balance, "balance")
    _require_int(payable_before_points_fen, "payable_before_points_fen")
    coverable_fen = max(0, payable_before_points_fen - MIN_PAYABLE_FEN)
    return min(balance, coverable_fen // FEN_PER_POINT)


def tier_for(lifetime_spend_fen: int, thresholds: Mapping[str, int] | None = None) -> str:
    """The highest tier whose threshold is at or below `lifetime_spend_fen` (thresholds are inclusive).

    The thresholds must start a tier at 0, so every spend has a tier, and must be distinct, so the
    answer never depends on dict order.
    """
    _require_int(lifetime_spend_fen, "lifetime_spend_fen")
    tiers = DEFAULT_TIER_THRESHOLDS if thresholds is None else thresholds
    if not tiers:
        raise ValueError("thresholds must name at least one tier")
    for name, threshold in tiers.items():
        _require_int(threshold, f"threshold of {name!r}")
    if min(tiers.values()) != 0:
        raise ValueError("thresholds must include a tier starting at 0")
    if len(set(tiers.values())) != len(tiers):
        raise ValueError("tier thresholds must be distinct")
    reached = [(threshold, name) for name, threshold in tiers.items() if threshold <= lifetime_spend_fen]
    return max(reached)[1]


def clawback(balance: int, points_to_take_back: int) -> tuple[int, int]:
    """Take back points earned on a refunded order: returns `(taken_from_balance, shortfall)`.

    A balance never goes negative (ARCHITECTURE.md invariant): if the member already spent some of
    those points, we take what is there and report the rest as the shortfall. The caller records the
    shortfall on the clawback's ledger entry for audit; it is not carried as a debt against future
    earnings, because a negative or owed balance would surprise the member and block their next order.
    """
    _require_int(balance, "balance")
    _require_int(points_to_take_back, "points_to_take_back")
    taken = min(balance, points_to_take_back)
    return taken, points_to_take_back - taken


def points_expire_on(last_purchase_day: date, expiry_days: int) -> date:
    """The day a balance expires when the member's last purchase was on `last_purchase_day` (China time)."""
    if not 1 <= expiry_days <= 3650:
        raise ValueError("expiry_days must be between 1 and 3650")
    return last_purchase_day + timedelta(days=expiry_days)
