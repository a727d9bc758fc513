"""Order pricing: line totals, the coupon's discount, points as money off, and what is left to pay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storeloop.domain.coupons import CouponRule, discount_fen
from storeloop.domain.errors import InsufficientPoints, MinSpendNotMet
from storeloop.domain.points import MIN_PAYABLE_FEN, max_points_usable, points_value_fen

OrderLine = tuple[str, int, int]  # (sku, qty, unit_price_fen)


@dataclass(frozen=True)
class OrderTotals:
    """What an order costs: total - discount - value of points used = payable, all in fen."""

    total_fen: int
    discount_fen: int
    points_used: int
    payable_fen: int


def _require_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # ValueError even for a wrong type: pydantic validators turn it into a 400, a TypeError into a 500.
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def price_order(
    lines: Sequence[OrderLine],
    coupon_rule: CouponRule | None,
    points: int,
    points_balance: int,
    *,
    coupon_base_fen: int | None = None,
) -> OrderTotals:
    """Price an order from its lines, an optional coupon and the points the shopper asks to use.

    Rules, in order:
      - every line needs a non-empty sku, qty >= 1 and unit_price_fen >= 0, and the total must be at
        least 1 fen (ValueError otherwise: these are validation failures, not business conflicts);
      - asking for more points than the balance raises InsufficientPoints, even if fewer would do;
      - a total below the coupon's min spend raises MinSpendNotMet (the caller also runs
        `check_redeemable`; this keeps the discount from ever being priced without its condition);
      - the coupon's discount applies to the whole total, and is capped so at least 1 fen is left:
        WeChat Pay cannot take a 0-fen payment and payment is the only path to `paid`;
      - points then cover at most what is left minus 1 fen; points asked beyond that are simply not
        used (`points_used` says how many were), so a shopper tapping "use all points" just works.
    A gift coupon gives no money off here: the gift item is handed over at pickup.
    """
    if not lines:
        raise ValueError("an order needs at least one line")
    total = 0
    for index, line in enumerate(lines):
        try:
            sku, qty, unit_price_fen = line
        except (TypeError, ValueError):
            raise ValueError(f"line {index} must be (sku, qty, unit_price_fen), got {line!r}") from None
        if not isinstance(sku, str) or not sku:
            raise ValueError(f"line {index}: sku must be a non-empty string, got {sku!r}")
        _require_int(qty, f"line {index}: qty", 1)
        _require_int(unit_price_fen, f"line {index}: unit_price_fen", 0)
        total += qty * unit_price_fen
    if total < MIN_PAYABLE_FEN:
        raise ValueError(f"an order must total at least {MIN_PAYABLE_FEN} fen")
    _require_int(points, "points", 0)
    _require_int(points_balance, "points_balance", 0)

    if points > points_balance:
        raise InsufficientPoints(details={"requested": points, "balance": points_balance})

    discount = 0
    if coupon_rule is not None:
        # issue 9: a coupon scoped to skus applies to the spend on its lines (`coupon_base_fen`), not the total
        base = total if coupon_base_fen is None else min(coupon_base_fen, total)
        if base < coupon_rule.min_spend_fen:
            raise MinSpendNotMet(details={"min_spend_fen": coupon_rule.min_spend_fen, "spend_fen": base})
        discount = min(discount_fen(coupon_rule, base), total - MIN_PAYABLE_FEN)

    after_discount = total - discount
    points_used = min(points, max_points_usable(points_balance, after_discount))
    payable = after_discount - points_value_fen(points_used)
    return OrderTotals(
        total_fen=total,
        discount_fen=discount,
        points_used=points_used,
        payable_fen=payable,
    )
