"""Unit tests for storeloop.domain.coupons and the domain error codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain import coupons
from storeloop.domain.clock import CN_TZ
from storeloop.domain.coupons import (
    MAX_STOCK_SHARDS,
    PARTITION_WCU_PER_SECOND,
    TARGET_CLAIMS_PER_SECOND,
    WCU_PER_CLAIM_ON_SHARD,
    CouponRule,
    check_redeemable,
    discount_fen,
    generate_coupon_code,
    looks_like_coupon_code,
    split_stock,
    stock_shard_count,
    validity_window,
)
from storeloop.domain.errors import (
    ALL_DOMAIN_ERRORS,
    AlreadyBooked,
    AlreadyReversed,
    CampaignNotLive,
    ClaimLimitReached,
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponNotValidHere,
    CouponNotYetValid,
    DomainError,
    InsufficientPoints,
    MinSpendNotMet,
    OutOfStock,
    QrExpired,
    SlotFull,
    SoldOut,
)

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=CN_TZ)
US = timedelta(microseconds=1)


def cash(amount: int = 2000, **kw: Any) -> CouponRule:
    return CouponRule(kind="cash_off", amount_off_fen=amount, **kw)


def percent(pct: int = 20, max_off: int | None = None, **kw: Any) -> CouponRule:
    return CouponRule(kind="percent_off", percent_off=pct, max_off_fen=max_off, **kw)


def gift(**kw: Any) -> CouponRule:
    return CouponRule(kind="gift", gift_sku="SKU-COOKIE", **kw)


# --- errors ------------------------------------------------------------------------------------------


class TestDomainErrors:
    @pytest.mark.parametrize(
        ("error", "code"),
        [
            (CampaignNotLive, "CAMPAIGN_NOT_LIVE"),
            (SoldOut, "SOLD_OUT"),
            (ClaimLimitReached, "CLAIM_LIMIT_REACHED"),
            (CouponAlreadyRedeemed, "COUPON_ALREADY_REDEEMED"),
            (CouponExpired, "COUPON_EXPIRED"),
            (CouponNotYetValid, "COUPON_NOT_YET_VALID"),
            (CouponNotValidHere, "COUPON_NOT_VALID_HERE"),
            (MinSpendNotMet, "MIN_SPEND_NOT_MET"),
            (QrExpired, "QR_EXPIRED"),
            (AlreadyReversed, "ALREADY_REVERSED"),
            (SlotFull, "SLOT_FULL"),
            (AlreadyBooked, "ALREADY_BOOKED"),
            (OutOfStock, "OUT_OF_STOCK"),
            (InsufficientPoints, "INSUFFICIENT_POINTS"),
        ],
    )
    def test_codes_match_api_md_and_are_409(self, error: type[DomainError], code: str) -> None:
        assert issubclass(error, DomainError)
        assert error.code == code
        assert error.status == 409
        assert error in ALL_DOMAIN_ERRORS

    def test_every_error_is_listed_once_with_a_unique_upper_snake_code(self) -> None:
        codes = [e.code for e in ALL_DOMAIN_ERRORS]
        assert len(codes) == len(set(codes)) == 14
        assert all(re.fullmatch(r"[A-Z]+(_[A-Z]+)*", c) for c in codes)

    def test_default_and_custom_message_and_details(self) -> None:
        err = CouponExpired()
        assert err.message == CouponExpired.default_message
        assert str(err) == err.message
        assert err.details == {}
        custom = MinSpendNotMet("spend more", details={"min_spend_fen": 100})
        assert str(custom) == "spend more"
        assert custom.details == {"min_spend_fen": 100}
        assert "MIN_SPEND_NOT_MET" in repr(custom)

    def test_details_are_copied(self) -> None:
        details = {"a": 1}
        err = SoldOut(details=details)
        details["a"] = 2
        assert err.details == {"a": 1}

    def test_errors_are_catchable_as_domain_error(self) -> None:
        with pytest.raises(DomainError) as info:
            raise InsufficientPoints()
        assert info.value.code == "INSUFFICIENT_POINTS"


# --- CouponRule --------------------------------------------------------------------------------------


class TestCouponRule:
    def test_defaults_allow_every_store_and_both_channels(self) -> None:
        rule = cash()
        assert rule.store_ids == ()
        assert rule.channels == ("store", "online")
        assert rule.min_spend_fen == 0
        assert rule.allows_store("sh-001")
        assert rule.allows_store(None)
        assert rule.allows_channel("store") and rule.allows_channel("online")

    def test_lists_from_json_become_tuples_and_the_rule_is_frozen(self) -> None:
        rule = cash(store_ids=["sh-001"], channels=["store"])  # type: ignore[arg-type]
        assert rule.store_ids == ("sh-001",)
        assert rule.channels == ("store",)
        with pytest.raises(AttributeError):
            rule.kind = "gift"  # type: ignore[misc]

    def test_rules_are_hashable_and_compare_by_value(self) -> None:
        validity = {"type": "relative", "days": 7}
        assert cash(validity=validity) == cash(validity=dict(validity))
        assert cash(validity=validity) != cash(validity={"type": "relative", "days": 8})
        assert len({cash(validity=validity), cash(validity=dict(validity))}) == 1

    def test_validity_is_copied(self) -> None:
        validity = {"type": "relative", "days": 7}
        rule = cash(validity=validity)
        validity["days"] = 0
        assert rule.validity == {"type": "relative", "days": 7}

    def test_restricted_stores(self) -> None:
        rule = cash(store_ids=("sh-001", "sh-002"))
        assert rule.allows_store("sh-002")
        assert not rule.allows_store("bj-001")
        assert not rule.allows_store(None)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"kind": "bogo"},
            {"kind": "cash_off"},
            {"kind": "cash_off", "amount_off_fen": 0},
            {"kind": "cash_off", "amount_off_fen": -1},
            {"kind": "cash_off", "amount_off_fen": 10.0},
            {"kind": "cash_off", "amount_off_fen": True},
            {"kind": "cash_off", "amount_off_fen": "500"},
            {"kind": "percent_off"},
            {"kind": "percent_off", "percent_off": 0},
            {"kind": "percent_off", "percent_off": 100},
            {"kind": "percent_off", "percent_off": 20, "max_off_fen": 0},
            {"kind": "gift"},
            {"kind": "gift", "gift_sku": ""},
            {"kind": "cash_off", "amount_off_fen": 100, "min_spend_fen": -1},
            {"kind": "cash_off", "amount_off_fen": 100, "channels": ()},
            {"kind": "cash_off", "amount_off_fen": 100, "channels": ("store", "tmall")},
            {"kind": "cash_off", "amount_off_fen": 100, "store_ids": ("",)},
            {"kind": "cash_off", "amount_off_fen": 100, "store_ids": "sh-001"},  # not a list
            {"kind": "cash_off", "amount_off_fen": 100, "store_ids": None},
            {"kind": "cash_off", "amount_off_fen": 100, "channels": "store"},
            {"kind": "cash_off", "amount_off_fen": 100, "validity": [("type", "relative")]},
            {
                "kind": "cash_off",
                "amount_off_fen": 100,
                "validity": {"type": "rolling", "days": 3},
            },
            {
                "kind": "cash_off",
                "amount_off_fen": 100,
                "validity": {"type": "relative", "days": 0},
            },
        ],
    )
    def test_rejects_invalid_terms(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            CouponRule(**kwargs)

    @pytest.mark.parametrize("pct", [1, 99])
    def test_percent_bounds_are_inclusive(self, pct: int) -> None:
        assert percent(pct).percent_off == pct

    def test_from_dict_takes_a_template_body(self) -> None:
        body = {
            "name": "Winter 20 off",
            "kind": "cash_off",
            "amount_off_fen": 2000,
            "percent_off": None,
            "min_spend_fen": 10000,
            "total_stock": 5000,
            "per_member_limit": 1,
            "validity": {
                "type": "fixed",
                "starts_at": "2026-12-01T00:00:00+08:00",
                "ends_at": "2026-12-31T23:59:59+08:00",
            },
            "channels": ["store"],
            "store_ids": [],
        }
        rule = CouponRule.from_dict(body)
        assert rule == CouponRule(
            kind="cash_off",
            amount_off_fen=2000,
            min_spend_fen=10000,
            channels=("store",),
            validity=body["validity"],
        )


# --- validity_window ---------------------------------------------------------------------------------


class TestValidityWindow:
    def test_relative_counts_whole_days_from_the_claim(self) -> None:
        assert validity_window({"type": "relative", "days": 7}, T0) == (
            T0,
            T0 + timedelta(days=7),
        )

    def test_relative_one_day(self) -> None:
        claimed = datetime(2026, 12, 31, 23, 59, 59, tzinfo=CN_TZ)
        assert validity_window({"type": "relative", "days": 1}, claimed)[1] == datetime(
            2027, 1, 1, 23, 59, 59, tzinfo=CN_TZ
        )

    def test_fixed_ignores_the_claim_time(self) -> None:
        validity = {
            "type": "fixed",
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2027-01-01T00:00:00+08:00",
        }
        start = datetime(2026, 12, 1, tzinfo=CN_TZ)
        end = datetime(2027, 1, 1, tzinfo=CN_TZ)
        assert validity_window(validity, T0) == (start, end)
        assert validity_window(validity, T0 + timedelta(days=60)) == (start, end)

    def test_fixed_accepts_aware_datetimes(self) -> None:
        start = datetime(2026, 12, 1, tzinfo=UTC)
        validity = {
            "type": "fixed",
            "starts_at": start,
            "ends_at": start + timedelta(seconds=1),
        }
        assert validity_window(validity, T0) == (start, start + timedelta(seconds=1))

    @pytest.mark.parametrize(
        "validity",
        [
            {},
            {"type": "relative"},
            {"type": "relative", "days": 0},
            {"type": "relative", "days": -3},
            {"type": "relative", "days": 1.5},
            {"type": "relative", "days": "7"},
            {"type": "fixed", "starts_at": "2026-12-01T00:00:00+08:00"},
            {
                "type": "fixed",
                "starts_at": "2026-12-01T00:00:00+08:00",
                "ends_at": "2026-12-01T00:00:00+08:00",
            },
            {
                "type": "fixed",
                "starts_at": "2026-12-02T00:00:00+08:00",
                "ends_at": "2026-12-01T00:00:00+08:00",
            },
            {"type": "fixed", "starts_at": "2026-12-01", "ends_at": "2026-12-31"},
            {
                "type": "fixed",
                "starts_at": datetime(2026, 12, 1),
                "ends_at": datetime(2026, 12, 2),
            },
            {"type": "fixed", "starts_at": 1, "ends_at": 2},
        ],
    )
    def test_rejects_bad_validity(self, validity: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            validity_window(validity, T0)

    def test_rejects_naive_claim_time(self) -> None:
        with pytest.raises(ValueError):
            validity_window({"type": "relative", "days": 1}, datetime(2026, 11, 26, 14, 0))

    @given(st.integers(min_value=1, max_value=3650))
    def test_relative_window_is_exactly_days_long(self, days: int) -> None:
        start, end = validity_window({"type": "relative", "days": days}, T0)
        assert start == T0
        assert end - start == timedelta(days=days)


# --- discount_fen ------------------------------------------------------------------------------------


class TestDiscount:
    @pytest.mark.parametrize(
        ("amount", "spend", "expected"),
        [
            (2000, 10000, 2000),
            (2000, 2001, 2000),
            (2000, 2000, 2000),
            (2000, 1999, 1999),
            (2000, 1, 1),
            (2000, 0, 0),
        ],
    )
    def test_cash_off_is_capped_at_the_spend(self, amount: int, spend: int, expected: int) -> None:
        assert discount_fen(cash(amount), spend) == expected

    @pytest.mark.parametrize(
        ("pct", "spend", "expected"),
        [
            (20, 10000, 2000),
            (10, 333, 33),  # 33.3 -> 33
            (15, 999, 149),  # 149.85 -> 149: floor, never round up
            (99, 1, 0),  # 0.99 -> 0
            (99, 100, 99),
            (1, 99, 0),
            (1, 100, 1),
            (50, 3, 1),
            (20, 0, 0),
        ],
    )
    def test_percent_off_floors(self, pct: int, spend: int, expected: int) -> None:
        assert discount_fen(percent(pct), spend) == expected

    @pytest.mark.parametrize(
        ("spend", "expected"),
        [(24999, 4999), (25000, 5000), (25005, 5000), (100000, 5000)],
    )
    def test_percent_off_cap(self, spend: int, expected: int) -> None:
        assert discount_fen(percent(20, max_off=5000), spend) == expected

    def test_gift_is_no_money_off(self) -> None:
        assert discount_fen(gift(), 10000) == 0
        assert discount_fen(gift(), 0) == 0

    @pytest.mark.parametrize("spend", [-1, 10.0, True, None, "100"])
    def test_rejects_bad_spend(self, spend: object) -> None:
        with pytest.raises(ValueError):
            discount_fen(cash(), spend)  # type: ignore[arg-type]

    def test_result_is_int_even_for_huge_spends(self) -> None:
        off = discount_fen(percent(33), 10**18 + 7)
        assert isinstance(off, int)
        assert off == (10**18 + 7) * 33 // 100

    @given(
        st.sampled_from(["cash_off", "percent_off"]),
        st.integers(min_value=1, max_value=10**7),
        st.integers(min_value=1, max_value=99),
        st.one_of(st.none(), st.integers(min_value=1, max_value=10**6)),
        st.integers(min_value=0, max_value=10**9),
    )
    def test_discount_is_between_zero_and_spend(
        self, kind: str, amount: int, pct: int, max_off: int | None, spend: int
    ) -> None:
        rule = cash(amount) if kind == "cash_off" else percent(pct, max_off)
        off = discount_fen(rule, spend)
        assert isinstance(off, int)
        assert 0 <= off <= spend
        if kind == "percent_off":
            assert off * 100 <= spend * pct
            if max_off is not None:
                assert off <= max_off


# --- check_redeemable --------------------------------------------------------------------------------

VALID_FROM = T0
VALID_UNTIL = T0 + timedelta(days=7)
INSIDE = T0 + timedelta(days=1)


def redeem(
    rule: CouponRule | None = None,
    status: str = "active",
    store_id: str | None = "sh-001",
    channel: str = "store",
    spend_fen: int | None = None,
    now: datetime = INSIDE,
    valid_from: datetime = VALID_FROM,
    valid_until: datetime = VALID_UNTIL,
) -> None:
    check_redeemable(
        rule or cash(),
        status,
        valid_from,
        valid_until,
        store_id,
        channel,
        spend_fen,
        now,
    )


class TestCheckRedeemable:
    def test_an_active_coupon_in_its_window_passes(self) -> None:
        assert redeem() is None

    def test_redeemed(self) -> None:
        with pytest.raises(CouponAlreadyRedeemed):
            redeem(status="redeemed")

    def test_locked_by_an_unpaid_order_counts_as_redeemed(self) -> None:
        with pytest.raises(CouponAlreadyRedeemed, match="unpaid order"):
            redeem(status="locked")

    @pytest.mark.parametrize("status", ["expired", "revoked"])
    def test_expired_or_revoked_status(self, status: str) -> None:
        with pytest.raises(CouponExpired):
            redeem(status=status)

    def test_valid_until_is_exclusive(self) -> None:
        redeem(now=VALID_UNTIL - US)
        with pytest.raises(CouponExpired):
            redeem(now=VALID_UNTIL)
        with pytest.raises(CouponExpired):
            redeem(now=VALID_UNTIL + US)

    def test_valid_from_is_inclusive(self) -> None:
        redeem(now=VALID_FROM)
        with pytest.raises(CouponNotYetValid):
            redeem(now=VALID_FROM - US)

    def test_window_boundaries_compare_instants_across_offsets(self) -> None:
        # 14:00+08:00 is 06:00Z: a UTC `now` one microsecond before is still inside.
        redeem(now=(VALID_UNTIL - US).astimezone(UTC))
        with pytest.raises(CouponExpired):
            redeem(now=VALID_UNTIL.astimezone(UTC))

    def test_store_restriction(self) -> None:
        rule = cash(store_ids=("sh-001",))
        redeem(rule, store_id="sh-001")
        with pytest.raises(CouponNotValidHere, match="store"):
            redeem(rule, store_id="sh-002")

    def test_empty_store_ids_mean_every_store(self) -> None:
        redeem(cash(store_ids=()), store_id="anywhere")

    def test_channel_restriction(self) -> None:
        rule = cash(channels=("online",))
        redeem(rule, channel="online")
        with pytest.raises(CouponNotValidHere, match="store channel"):
            redeem(rule, channel="store")

    def test_min_spend_boundary(self) -> None:
        rule = cash(min_spend_fen=10000)
        redeem(rule, spend_fen=10000)
        redeem(rule, spend_fen=10001)
        with pytest.raises(MinSpendNotMet) as info:
            redeem(rule, spend_fen=9999)
        assert info.value.details == {"min_spend_fen": 10000, "spend_fen": 9999}

    def test_unknown_spend_skips_min_spend(self) -> None:
        redeem(cash(min_spend_fen=10000), spend_fen=None)

    def test_zero_min_spend_accepts_zero_spend(self) -> None:
        redeem(cash(min_spend_fen=0), spend_fen=0)

    # Precedence: each case breaks every later rule too, and must report only the first.
    @pytest.mark.parametrize(
        ("overrides", "expected"),
        [
            (
                {"status": "redeemed", "now": VALID_UNTIL + timedelta(days=1)},
                CouponAlreadyRedeemed,
            ),
            (
                {"status": "locked", "now": VALID_FROM - timedelta(days=1)},
                CouponAlreadyRedeemed,
            ),
            (
                {"status": "revoked", "now": VALID_FROM - timedelta(days=1)},
                CouponExpired,
            ),
            ({"now": VALID_UNTIL}, CouponExpired),
            ({"now": VALID_FROM - US}, CouponNotYetValid),
            ({}, CouponNotValidHere),  # wrong store (and channel, and spend)
            ({"store_id": "sh-001"}, CouponNotValidHere),  # wrong channel (and spend)
            ({"store_id": "sh-001", "channel": "store"}, MinSpendNotMet),
        ],
    )
    def test_precedence(self, overrides: dict[str, Any], expected: type[DomainError]) -> None:
        rule = cash(store_ids=("sh-001",), channels=("store",), min_spend_fen=10000)
        # Every check fails by default; each case repairs the earlier ones only.
        args: dict[str, Any] = {
            "store_id": "bj-001",
            "channel": "online",
            "spend_fen": 1,
        }
        args.update(overrides)
        with pytest.raises(expected):
            redeem(rule, **args)

    def test_unknown_status_is_a_bug(self) -> None:
        with pytest.raises(ValueError):
            redeem(status="used")

    @pytest.mark.parametrize("field", ["now", "valid_from", "valid_until"])
    def test_naive_times_are_rejected(self, field: str) -> None:
        naive = {"now": INSIDE, "valid_from": VALID_FROM, "valid_until": VALID_UNTIL}[field].replace(tzinfo=None)
        with pytest.raises(ValueError):
            redeem(**{field: naive})

    def test_negative_spend_is_rejected(self) -> None:
        with pytest.raises(ValueError):
            redeem(spend_fen=-1)

    def test_gift_and_percent_rules_follow_the_same_checks(self) -> None:
        redeem(gift(), spend_fen=0)
        with pytest.raises(MinSpendNotMet):
            redeem(percent(10, min_spend_fen=5000), spend_fen=4999)


# --- stock sharding ----------------------------------------------------------------------------------


class TestStockShards:
    @pytest.mark.parametrize(
        ("stock", "shards"),
        [
            (0, 1),
            (1, 1),
            (2, 1),
            (100, 1),
            (101, 2),
            (200, 2),
            (201, 3),
            (1000, 10),
            (1901, 20),
            (1999, 20),
            (2000, 20),
            (2001, 20),
            (1_000_000, 20),
            (10**12, 20),
        ],
    )
    def test_shard_count_table(self, stock: int, shards: int) -> None:
        assert stock_shard_count(stock) == shards

    def test_max_shards_reach_the_target_claim_rate(self) -> None:
        assert MAX_STOCK_SHARDS == 20
        claims_per_second = MAX_STOCK_SHARDS * PARTITION_WCU_PER_SECOND // WCU_PER_CLAIM_ON_SHARD
        assert claims_per_second >= TARGET_CLAIMS_PER_SECOND
        # ...and one shard fewer would not: the cap is the smallest that meets it.
        assert (MAX_STOCK_SHARDS - 1) * PARTITION_WCU_PER_SECOND // WCU_PER_CLAIM_ON_SHARD < TARGET_CLAIMS_PER_SECOND

    @pytest.mark.parametrize("stock", [-1, 1.5, True, None, "100"])
    def test_rejects_bad_stock(self, stock: object) -> None:
        with pytest.raises(ValueError):
            stock_shard_count(stock)  # type: ignore[arg-type]

    @given(st.integers(min_value=0, max_value=10**9))
    def test_shard_count_bounds(self, stock: int) -> None:
        n = stock_shard_count(stock)
        assert 1 <= n <= MAX_STOCK_SHARDS
        if stock >= 1:
            assert n <= stock
            assert min(split_stock(stock, n)) >= 1
        # Monotone: more stock never means fewer shards.
        assert stock_shard_count(stock + 1) >= n

    @pytest.mark.parametrize(
        ("total", "n", "expected"),
        [
            (10, 3, [4, 3, 3]),
            (9, 3, [3, 3, 3]),
            (2, 3, [1, 1, 0]),
            (0, 4, [0, 0, 0, 0]),
            (7, 1, [7]),
            (101, 2, [51, 50]),
        ],
    )
    def test_split_stock_table(self, total: int, n: int, expected: list[int]) -> None:
        assert split_stock(total, n) == expected

    @pytest.mark.parametrize(("total", "n"), [(-1, 2), (10, 0), (10, -1), (10.0, 2), (10, 2.0), (True, 1)])
    def test_split_stock_rejects_bad_input(self, total: object, n: object) -> None:
        with pytest.raises(ValueError):
            split_stock(total, n)  # type: ignore[arg-type]

    @given(
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=1, max_value=64),
    )
    def test_split_stock_is_exact_and_even(self, total: int, n: int) -> None:
        parts = split_stock(total, n)
        assert len(parts) == n
        assert sum(parts) == total
        assert max(parts) - min(parts) <= 1
        assert parts == sorted(parts, reverse=True)


# --- coupon codes ------------------------------------------------------------------------------------


class TestCouponCodes:
    def test_twelve_ascii_digits(self) -> None:
        for _ in range(200):
            code = generate_coupon_code()
            assert len(code) == 12
            assert re.fullmatch(r"[0-9]{12}", code)
            assert looks_like_coupon_code(code)

    def test_codes_do_not_repeat(self) -> None:
        codes = {generate_coupon_code() for _ in range(2000)}
        assert len(codes) == 2000

    def test_keeps_leading_zeros_and_spans_the_whole_range(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[int] = []

        def fake_randbelow(n: int) -> int:
            calls.append(n)
            return fake_randbelow.value  # type: ignore[attr-defined]

        monkeypatch.setattr(coupons.secrets, "randbelow", fake_randbelow)
        fake_randbelow.value = 42  # type: ignore[attr-defined]
        assert generate_coupon_code() == "000000000042"
        fake_randbelow.value = 0  # type: ignore[attr-defined]
        assert generate_coupon_code() == "000000000000"
        fake_randbelow.value = 10**12 - 1  # type: ignore[attr-defined]
        assert generate_coupon_code() == "999999999999"
        assert calls == [10**12] * 3

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("000000000042", True),
            ("12345678901", False),
            ("1234567890123", False),
            ("12345678901a", False),
            (
                "１２３４５６７８９０１２",
                False,
            ),  # full-width digits are str.isdigit() but not a till code
            ("eyJhbGciOi.x.y", False),
            ("", False),
            (123456789012, False),
        ],
    )
    def test_looks_like_coupon_code(self, value: object, expected: bool) -> None:
        assert looks_like_coupon_code(value) is expected  # type: ignore[arg-type]
