"""Unit tests for storeloop.domain.points: earning, spending, tiers and clawback."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain.points import (
    DEFAULT_TIER_THRESHOLDS,
    FEN_PER_POINT,
    MIN_PAYABLE_FEN,
    POINTS_PER_YUAN_OFF,
    clawback,
    max_points_usable,
    points_earned,
    points_value_fen,
    tier_for,
)

BAD_INTS = [-1, 1.0, True, None, "100"]


class TestPointsEarned:
    @pytest.mark.parametrize(
        ("paid_fen", "per_yuan", "expected"),
        [
            (0, 1, 0),
            (1, 1, 0),
            (99, 1, 0),  # less than a yuan earns nothing
            (100, 1, 1),
            (101, 1, 1),
            (199, 1, 1),
            (200, 1, 2),
            (12_345, 1, 123),
            (12_345, 2, 246),
            (99, 10, 0),
            (100, 10, 10),
            (10_000, 0, 0),  # earning switched off
        ],
    )
    def test_floor_per_whole_yuan(self, paid_fen: int, per_yuan: int, expected: int) -> None:
        assert points_earned(paid_fen, per_yuan) == expected

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_paid(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            points_earned(bad, 1)

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_rate(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            points_earned(100, bad)

    @given(
        st.integers(min_value=0, max_value=10**12),
        st.integers(min_value=0, max_value=100),
    )
    def test_never_rewards_a_partial_yuan(self, paid: int, rate: int) -> None:
        earned = points_earned(paid, rate)
        assert earned == (paid // 100) * rate
        assert points_earned(paid - paid % 100, rate) == earned


class TestPointsValue:
    def test_hundred_points_are_one_yuan(self) -> None:
        assert POINTS_PER_YUAN_OFF == 100
        assert FEN_PER_POINT == 1
        assert points_value_fen(100) == 100
        assert points_value_fen(0) == 0
        assert points_value_fen(1) == 1
        assert points_value_fen(12_345) == 12_345

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_points(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            points_value_fen(bad)


class TestMaxPointsUsable:
    @pytest.mark.parametrize(
        ("balance", "payable", "expected"),
        [
            (500, 10_000, 500),  # the balance limits
            (50_000, 10_000, 9_999),  # payable limits, leaving 1 fen
            (10_000, 10_000, 9_999),
            (9_999, 10_000, 9_999),
            (9_998, 10_000, 9_998),
            (100, 2, 1),
            (100, 1, 0),  # only the minimum left: nothing to cover
            (100, 0, 0),
            (0, 10_000, 0),
        ],
    )
    def test_table(self, balance: int, payable: int, expected: int) -> None:
        assert max_points_usable(balance, payable) == expected

    def test_minimum_payable_is_one_fen(self) -> None:
        assert MIN_PAYABLE_FEN == 1

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_input(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            max_points_usable(bad, 100)
        with pytest.raises(ValueError):
            max_points_usable(100, bad)

    @given(
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=0, max_value=10**9),
    )
    def test_never_overdraws_nor_zeroes_the_payment(self, balance: int, payable: int) -> None:
        usable = max_points_usable(balance, payable)
        assert 0 <= usable <= balance
        if payable >= MIN_PAYABLE_FEN:
            assert payable - points_value_fen(usable) >= MIN_PAYABLE_FEN
        # Maximal: one more point would break a rule.
        assert usable + 1 > balance or payable - points_value_fen(usable + 1) < MIN_PAYABLE_FEN


class TestTierFor:
    @pytest.mark.parametrize(
        ("spend", "tier"),
        [
            (0, "bronze"),
            (1, "bronze"),
            (99_999, "bronze"),
            (100_000, "silver"),  # thresholds are inclusive
            (100_001, "silver"),
            (499_999, "silver"),
            (500_000, "gold"),
            (10**12, "gold"),
        ],
    )
    def test_default_thresholds(self, spend: int, tier: str) -> None:
        assert tier_for(spend) == tier

    def test_default_thresholds_values(self) -> None:
        assert dict(DEFAULT_TIER_THRESHOLDS) == {
            "bronze": 0,
            "silver": 100_000,
            "gold": 500_000,
        }

    def test_custom_thresholds_in_any_order(self) -> None:
        thresholds = {"vip": 1_000_000, "member": 0, "plus": 50_000}
        assert tier_for(0, thresholds) == "member"
        assert tier_for(49_999, thresholds) == "member"
        assert tier_for(50_000, thresholds) == "plus"
        assert tier_for(999_999, thresholds) == "plus"
        assert tier_for(1_000_000, thresholds) == "vip"

    def test_single_tier(self) -> None:
        assert tier_for(123, {"member": 0}) == "member"

    @pytest.mark.parametrize(
        "thresholds",
        [
            {},
            {"silver": 100_000, "gold": 500_000},  # no tier at 0
            {"bronze": 0, "silver": 0},  # ambiguous
            {"bronze": 0, "silver": -1},
            {"bronze": 0, "silver": 100_000.0},
            {"bronze": 0, "silver": "100000"},
        ],
    )
    def test_rejects_bad_thresholds(self, thresholds: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            tier_for(100_000, thresholds)

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_spend(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            tier_for(bad)

    @given(
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=0, max_value=10**9),
    )
    def test_more_spend_never_lowers_the_tier(self, a: int, b: int) -> None:
        order = ["bronze", "silver", "gold"]
        low, high = sorted((a, b))
        assert order.index(tier_for(low)) <= order.index(tier_for(high))


class TestClawback:
    @pytest.mark.parametrize(
        ("balance", "take", "expected"),
        [
            (500, 200, (200, 0)),
            (200, 200, (200, 0)),  # exactly enough
            (199, 200, (199, 1)),
            (0, 200, (0, 200)),  # all spent already
            (500, 0, (0, 0)),
            (0, 0, (0, 0)),
        ],
    )
    def test_takes_what_is_there_and_reports_the_rest(self, balance: int, take: int, expected: tuple[int, int]) -> None:
        assert clawback(balance, take) == expected

    @pytest.mark.parametrize("bad", BAD_INTS)
    def test_rejects_bad_input(self, bad: Any) -> None:
        with pytest.raises(ValueError):
            clawback(bad, 1)
        with pytest.raises(ValueError):
            clawback(1, bad)

    @given(
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=0, max_value=10**9),
    )
    def test_balance_never_goes_negative(self, balance: int, take: int) -> None:
        taken, shortfall = clawback(balance, take)
        assert taken + shortfall == take
        assert 0 <= taken <= balance
        assert balance - taken >= 0
        assert shortfall >= 0
        # A shortfall only once the balance is used up.
        assert shortfall == 0 or taken == balance
