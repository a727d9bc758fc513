"""Unit tests for storeloop.domain.orders: pricing an order with a coupon and points."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain.coupons import CouponRule
from storeloop.domain.errors import InsufficientPoints, MinSpendNotMet
from storeloop.domain.orders import OrderTotals, price_order

LATTE = ("SKU-LATTE", 2, 3200)  # 64.00 yuan
CAKE = ("SKU-CAKE", 1, 2800)  # 28.00 yuan
LINES = [LATTE, CAKE]  # 92.00 yuan


def cash(amount: int, min_spend: int = 0) -> CouponRule:
    return CouponRule(kind="cash_off", amount_off_fen=amount, min_spend_fen=min_spend)


def percent(pct: int, max_off: int | None = None, min_spend: int = 0) -> CouponRule:
    return CouponRule(
        kind="percent_off",
        percent_off=pct,
        max_off_fen=max_off,
        min_spend_fen=min_spend,
    )


class TestTotals:
    def test_no_coupon_no_points(self) -> None:
        assert price_order(LINES, None, 0, 0) == OrderTotals(9200, 0, 0, 9200)

    def test_lines_multiply_qty_by_unit_price(self) -> None:
        assert price_order([("A", 3, 333), ("B", 1, 1)], None, 0, 0).total_fen == 1000

    def test_zero_priced_line_is_allowed_when_the_order_costs_something(self) -> None:
        assert price_order([("GIFT-BAG", 1, 0), CAKE], None, 0, 0).total_fen == 2800

    def test_same_sku_on_two_lines_adds_up(self) -> None:
        assert price_order([CAKE, CAKE], None, 0, 0).total_fen == 5600

    def test_result_is_frozen(self) -> None:
        totals = price_order(LINES, None, 0, 0)
        with pytest.raises(AttributeError):
            totals.payable_fen = 0  # type: ignore[misc]


class TestCoupon:
    def test_cash_off(self) -> None:
        assert price_order(LINES, cash(2000), 0, 0) == OrderTotals(9200, 2000, 0, 7200)

    def test_percent_off_floors(self) -> None:
        # 15% of 92.00 = 13.80 exactly; 15% of 92.01 = 13.8015 -> 13.80
        assert price_order(LINES, percent(15), 0, 0).discount_fen == 1380
        assert price_order([*LINES, ("CANDY", 1, 1)], percent(15), 0, 0).discount_fen == 1380

    def test_percent_off_cap(self) -> None:
        assert price_order(LINES, percent(50, max_off=3000), 0, 0) == OrderTotals(9200, 3000, 0, 6200)

    def test_discount_never_leaves_less_than_one_fen(self) -> None:
        assert price_order([CAKE], cash(2800), 0, 0) == OrderTotals(2800, 2799, 0, 1)
        assert price_order([CAKE], cash(10_000), 0, 0) == OrderTotals(2800, 2799, 0, 1)
        assert price_order([CAKE], cash(2799), 0, 0) == OrderTotals(2800, 2799, 0, 1)
        assert price_order([CAKE], cash(2798), 0, 0) == OrderTotals(2800, 2798, 0, 2)

    def test_one_fen_order_gets_no_discount(self) -> None:
        assert price_order([("CANDY", 1, 1)], cash(500), 0, 0) == OrderTotals(1, 0, 0, 1)

    def test_gift_coupon_is_no_money_off(self) -> None:
        gift = CouponRule(kind="gift", gift_sku="SKU-COOKIE")
        assert price_order(LINES, gift, 0, 0) == OrderTotals(9200, 0, 0, 9200)

    def test_min_spend_boundary(self) -> None:
        assert price_order(LINES, cash(2000, min_spend=9200), 0, 0).discount_fen == 2000
        with pytest.raises(MinSpendNotMet) as info:
            price_order(LINES, cash(2000, min_spend=9201), 0, 0)
        assert info.value.details == {"min_spend_fen": 9201, "spend_fen": 9200}


class TestPoints:
    def test_points_are_one_fen_each(self) -> None:
        assert price_order(LINES, None, 500, 1000) == OrderTotals(9200, 0, 500, 8700)

    def test_points_after_the_discount(self) -> None:
        assert price_order(LINES, cash(2000), 1000, 1000) == OrderTotals(9200, 2000, 1000, 6200)

    def test_points_are_capped_to_leave_one_fen(self) -> None:
        assert price_order(LINES, None, 9200, 9200) == OrderTotals(9200, 0, 9199, 1)
        assert price_order(LINES, None, 9199, 10_000) == OrderTotals(9200, 0, 9199, 1)
        assert price_order(LINES, None, 9198, 10_000) == OrderTotals(9200, 0, 9198, 2)
        assert price_order(LINES, cash(2000), 50_000, 50_000) == OrderTotals(9200, 2000, 7199, 1)

    def test_no_points_usable_when_the_coupon_already_leaves_one_fen(self) -> None:
        assert price_order([CAKE], cash(5000), 300, 300) == OrderTotals(2800, 2799, 0, 1)

    def test_all_balance(self) -> None:
        assert price_order(LINES, None, 1000, 1000).points_used == 1000

    def test_more_points_than_balance(self) -> None:
        with pytest.raises(InsufficientPoints) as info:
            price_order(LINES, None, 1001, 1000)
        assert info.value.details == {"requested": 1001, "balance": 1000}

    def test_insufficient_points_even_when_fewer_would_be_used(self) -> None:
        # Asking beyond the balance is a client error even if the cap would have trimmed it.
        with pytest.raises(InsufficientPoints):
            price_order([("CANDY", 1, 1)], None, 5, 0)

    def test_insufficient_points_is_checked_before_min_spend(self) -> None:
        with pytest.raises(InsufficientPoints):
            price_order(LINES, cash(2000, min_spend=100_000), 10, 0)


class TestValidation:
    @pytest.mark.parametrize(
        "lines",
        [
            [],
            [("SKU", 0, 100)],  # qty must be at least 1
            [("SKU", -1, 100)],
            [("SKU", 1.0, 100)],
            [("SKU", True, 100)],
            [("SKU", "2", 100)],
            [("SKU", 1, -1)],
            [("SKU", 1, 1.5)],
            [("", 1, 100)],
            [(None, 1, 100)],
            [("SKU", 1)],
            [("SKU", 1, 100, "extra")],
            ["SKU"],
            [None],
            [("SKU", 1, 0)],  # a 0-fen order cannot be paid
            [("A", 3, 0), ("B", 1, 0)],
        ],
    )
    def test_rejects_bad_lines(self, lines: list[Any]) -> None:
        with pytest.raises(ValueError):
            price_order(lines, None, 0, 0)

    @pytest.mark.parametrize(("points", "balance"), [(-1, 0), (0, -1), (1.0, 5), (True, 5), (0, None)])
    def test_rejects_bad_points(self, points: Any, balance: Any) -> None:
        with pytest.raises(ValueError):
            price_order(LINES, None, points, balance)

    def test_qty_error_names_the_line(self) -> None:
        with pytest.raises(ValueError, match="line 1: qty"):
            price_order([CAKE, ("SKU", 0, 100)], None, 0, 0)


line_strategy = st.tuples(
    st.text(alphabet="ABC123-", min_size=1, max_size=8),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=0, max_value=100_000),
)
rule_strategy = st.one_of(
    st.none(),
    st.builds(
        cash,
        st.integers(min_value=1, max_value=200_000),
        st.integers(min_value=0, max_value=1000),
    ),
    st.builds(
        percent,
        st.integers(min_value=1, max_value=99),
        st.one_of(st.none(), st.integers(min_value=1, max_value=100_000)),
        st.integers(min_value=0, max_value=1000),
    ),
)


@given(
    st.lists(line_strategy, min_size=1, max_size=6),
    rule_strategy,
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10**7),
)
def test_pricing_invariants(
    lines: list[tuple[str, int, int]],
    rule: CouponRule | None,
    points: int,
    extra_balance: int,
) -> None:
    total = sum(qty * price for _, qty, price in lines)
    balance = points + extra_balance
    if total < 1:
        with pytest.raises(ValueError):
            price_order(lines, rule, points, balance)
        return
    if rule is not None and total < rule.min_spend_fen:
        with pytest.raises(MinSpendNotMet):
            price_order(lines, rule, points, balance)
        return
    totals = price_order(lines, rule, points, balance)
    assert totals.total_fen == total
    assert totals.total_fen == totals.discount_fen + totals.points_used + totals.payable_fen
    assert totals.payable_fen >= 1
    assert 0 <= totals.discount_fen < total
    assert 0 <= totals.points_used <= min(points, balance)
    assert all(isinstance(v, int) for v in (totals.discount_fen, totals.points_used, totals.payable_fen))
    # Points are used to the full request unless that would take payable below 1 fen.
    assert totals.points_used == points or totals.payable_fen == 1
