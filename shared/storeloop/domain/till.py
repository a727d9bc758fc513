"""The till's rules, pure: online stock from the till's absolute count, and what a return may take back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storeloop.domain.points import points_earned


def available_from_count(count: int, reserved: int) -> int:
    """Units an online order may still take when the till counts `count` on hand: the `reserved` units of
    unfinished orders (placed or paid, not yet handed over) are in that count but already out of the online
    stock, so they are subtracted, never below zero. Handing an order over lowers `reserved` and, at the next
    count, the till's count by the same units, so nothing is counted twice."""
    if count < 0:
        raise ValueError("a count is never negative")
    return max(0, count - max(0, reserved))


class ReturnExceedsSale(ValueError):
    """More returned (in money, or of one sku) than the sale sold, counting the sale's earlier returns."""


@dataclass(frozen=True)
class ReturnPlan:
    returned_fen: int  # the sale's returned total after this return
    returned_qty: dict[str, int]  # the sale's returned units per sku after this return
    points_due: int  # points this return takes back (before the balance caps it)
    points_due_total: int  # all the sale's returns, this one included
    fully_returned: bool


def plan_return(*, sale_total_fen: int, sale_points: int, sold: Mapping[str, int] | None,
                returned_fen: int, returned_qty: Mapping[str, int], points_due_before: int,
                total_fen: int, items: Mapping[str, int], points_per_yuan: int) -> ReturnPlan:
    """Check a return against its sale and what earlier returns took, and say what it takes back.

    Points: the sale keeps what its remaining (unreturned) amount would have earned; a return takes back the
    difference from what the sale earned, minus what earlier returns already took, so two partial returns take
    exactly what one whole return would. `sold` is None for a sale recorded before items were kept: then only
    the amount is checked.
    """
    after_fen = returned_fen + total_fen
    if total_fen <= 0 or after_fen > sale_total_fen:
        raise ReturnExceedsSale("the sale's total has been returned" if returned_fen >= sale_total_fen
                                else "more than the sale's total")
    after_qty = dict(returned_qty)
    for sku, qty in items.items():
        after_qty[sku] = after_qty.get(sku, 0) + qty
        if sold is not None and after_qty[sku] > sold.get(sku, 0):
            raise ReturnExceedsSale(f"more {sku} returned than sold")
    keeps = min(sale_points, points_earned(sale_total_fen - after_fen, points_per_yuan))
    due_total = max(0, sale_points - keeps)
    return ReturnPlan(after_fen, after_qty, max(0, due_total - points_due_before), due_total,
                      after_fen == sale_total_fen)
