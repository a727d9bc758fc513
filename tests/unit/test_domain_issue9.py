"""Issue 9's pure rules: source keys, segment rules, sku scope, exchange codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeloop.domain.clock import to_rfc3339
from storeloop.domain.coupons import CouponRule, applicable_spend
from storeloop.domain.errors import CouponNotApplicable, MinSpendNotMet
from storeloop.domain.exchange_codes import ALPHABET, ENTROPY_BITS, LENGTH, new_code, normalise
from storeloop.domain.orders import price_order
from storeloop.domain.segments import MemberFacts, matches, unsatisfiable
from storeloop.domain.sources import REF_PATTERN, SOURCE_CHANNELS, parse_source_key, source_key

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@given(st.sampled_from(sorted(SOURCE_CHANNELS)), st.none() | st.from_regex(r"^[a-z0-9-]{1,20}$", fullmatch=True),
       st.none() | st.from_regex(REF_PATTERN, fullmatch=True))
def test_a_source_key_names_its_source_both_ways(channel, store_id, ref):
    assert parse_source_key(source_key(channel, store_id, ref)) == {"channel": channel, "store_id": store_id,
                                                                    "ref": ref}


def test_no_source_is_direct():
    assert source_key(None) == "direct#~#~" and parse_source_key(None)["channel"] == "direct"


def test_segment_rules_hold_together():
    member = MemberFacts(joined_at=to_rfc3339(NOW - timedelta(days=40)), lifetime_spend_fen=150_000,
                         last_purchase_at=to_rfc3339(NOW - timedelta(days=10)), joined_store_id="s1",
                         stores_bought=frozenset({"s2"}), first_channel="article")
    newcomer = MemberFacts()
    assert matches({"members_only": True, "tiers": ["silver"], "store_ids": ["s2"]}, member, NOW)
    assert not matches({"tiers": ["gold"]}, member, NOW)
    assert matches({"purchased_within_days": 10}, member, NOW)
    assert not matches({"purchased_within_days": 9}, member, NOW)
    assert matches({"not_purchased_for_days": 10}, member, NOW)
    assert not matches({"not_purchased_for_days": 11}, member, NOW)
    assert matches({"not_purchased_for_days": 11}, newcomer, NOW)  # never bought: not for any number of days
    assert matches({"channels": ["article"]}, member, NOW) and matches({"channels": ["direct"]}, newcomer, NOW)
    assert matches({"new_shoppers_only": True}, newcomer, NOW) and not matches({"new_shoppers_only": True}, member,
                                                                               NOW)
    assert not matches({"members_only": True}, newcomer, NOW) and not matches({"tiers": ["bronze"]}, newcomer, NOW)
    assert matches({}, newcomer, NOW)


def test_rules_that_match_nobody_are_named():
    assert unsatisfiable({"members_only": True, "new_shoppers_only": True})
    assert unsatisfiable({"purchased_within_days": 30, "not_purchased_for_days": 30})
    assert unsatisfiable({"new_shoppers_only": True, "min_lifetime_spend_fen": 1})
    assert unsatisfiable({"purchased_within_days": 30, "not_purchased_for_days": 10}) == []


def test_the_sku_scope_takes_the_spend_on_its_lines():
    rule = CouponRule(kind="cash_off", amount_off_fen=1000, min_spend_fen=5000, skus=("latte",))
    lines = [("latte", 2, 3000), ("beans", 1, 8000)]
    assert applicable_spend(rule, lines, 14000) == 6000
    assert applicable_spend(rule, None, 14000) == 14000  # lines not given: the spend as the clerk gives it
    with pytest.raises(CouponNotApplicable):
        applicable_spend(rule, [("beans", 1, 8000)], 8000)
    assert applicable_spend(CouponRule(kind="cash_off", amount_off_fen=1), lines, 14000) == 14000
    totals = price_order(lines, rule, 0, 0, coupon_base_fen=6000)
    assert totals.discount_fen == 1000 and totals.payable_fen == 13000
    with pytest.raises(MinSpendNotMet):
        price_order([("latte", 1, 3000), ("beans", 1, 8000)], rule, 0, 0, coupon_base_fen=3000)


def test_exchange_codes_carry_80_bits_and_read_back_as_typed():
    assert len(ALPHABET) ** LENGTH == 2**ENTROPY_BITS
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    code = next(iter(codes))
    assert normalise(f" {code[:4].lower()}-{code[4:8]} {code[8:]} ") == code
    assert normalise("0O0O-1I1L-" + "0" * 8) == "00001111" + "0" * 8
    assert normalise("TOO-SHORT") is None and normalise("U" * 16) is None
