"""(issue 10) The campaign kinds' events as the stream consumer reads them (pure: images in, counters out)."""

from __future__ import annotations

from storeloop.domain import campaign_kinds_tracking as kinds
from storeloop.domain.clock import parse_rfc3339
from storeloop.services import analytics_stream
from storeloop.services.campaign_kinds import window_status

GROUP = {"store_id": "s1", "status": "forming", "opened_at": "2026-12-01T23:59:00+08:00"}


def test_a_group_counts_once_when_opened_and_once_when_it_forms_or_fails():
    assert kinds.recognise("GROUP#g1", "INSERT", {}, GROUP) == [("s1", "2026-12-01", (("groups_opened", 1),))]
    formed = {**GROUP, "status": "formed", "formed_at": "2026-12-02T00:01:00+08:00", "paid": 3}
    assert kinds.recognise("GROUP#g1", "MODIFY", GROUP, formed) == [("s1", "2026-12-02", (("groups_formed", 1),))]
    failed = {**GROUP, "status": "failed", "failed_at": "2026-12-02T10:00:00+08:00"}
    assert kinds.recognise("GROUP#g1", "MODIFY", GROUP, failed) == [("s1", "2026-12-02", (("groups_failed", 1),))]
    # A payment that does not form it, the settle mark after failing, a redelivered image: nothing.
    assert kinds.recognise("GROUP#g1", "MODIFY", GROUP, {**GROUP, "paid": 1}) == []
    assert kinds.recognise("GROUP#g1", "MODIFY", failed, {**failed, "settled_at": "x"}) == []


def test_a_redemption_counts_at_its_store_with_the_points_spent():
    new = {"store_id": "s2", "created_at": "2026-12-01T08:00:00+08:00", "points_spent": 300}
    assert kinds.recognise("REDEMPTION#r1", "INSERT", {}, new) == [
        ("s2", "2026-12-01", (("rewards_redeemed", 1), ("points_spent", 300)))]
    assert kinds.recognise("REDEMPTION#r1", "MODIFY", new, {**new, "status": "picked_up"}) == []
    assert kinds.recognise("REDEMPTION#r1", "INSERT", {}, {**new, "store_id": None}) == []


def test_a_flash_order_counts_its_units_and_money_when_paid_and_takes_them_back_when_refunded():
    pending = {"campaign_kind": "flash_sale", "store_id": "s1", "status": "pending_payment", "payable_fen": 990,
               "items": [{"sku": "latte", "qty": 1}]}
    paid = {**pending, "status": "paid", "paid_at": "2026-12-01T12:00:00+08:00"}
    assert kinds.order_counts(pending, paid) == [("s1", "2026-12-01", (("flash_units", 1), ("flash_revenue_fen", 990)))]
    refunded = {**paid, "status": "refunded", "refunded_at": "2026-12-03T12:00:00+08:00"}
    assert kinds.order_counts({**paid, "status": "refund_pending"}, refunded) == [
        ("s1", "2026-12-03", (("flash_units", -1), ("flash_revenue_fen", -990)))]
    # A late payment's automatic refund was never counted; an ordinary order is not a flash sale's.
    assert kinds.order_counts(pending, {**refunded, "auto_refund": True, "paid_at": None}) == []
    assert kinds.order_counts({**pending, "campaign_kind": None}, {**paid, "campaign_kind": None}) == []


def test_the_consumer_adds_them_to_the_store_day():
    record = {"eventID": "1", "eventName": "INSERT", "dynamodb": {
        "Keys": {"PK": {"S": "GROUP#g1"}, "SK": {"S": "GROUP"}},
        "NewImage": {"store_id": {"S": "s1"}, "status": {"S": "forming"},
                     "opened_at": {"S": "2026-12-01T10:00:00+08:00"}}, "SequenceNumber": "1"}}
    assert analytics_stream.is_relevant(record)
    tally = analytics_stream.Tally()
    for change in analytics_stream.recognise(record):
        tally.count(change)
    (write,) = tally.writes.values()
    assert (write.pk, write.sk, write.deltas) == ("STORE#s1#ANALYTICS", "DAY#2026-12-01", {"groups_opened": 1})
    member = {**record, "dynamodb": {**record["dynamodb"], "Keys": {"PK": {"S": "GROUP#g1"}, "SK": {"S": "MEMBER#m"}}}}
    assert not analytics_stream.is_relevant(member)


def test_window_status():
    at = parse_rfc3339("2026-12-01T12:00:00+08:00")
    assert window_status("2026-12-01T12:00:00+08:00", "2026-12-01T13:00:00+08:00", at) == "live"
    assert window_status("2026-12-01T12:00:01+08:00", "2026-12-01T13:00:00+08:00", at) == "upcoming"
    assert window_status("2026-12-01T11:00:00+08:00", "2026-12-01T12:00:00+08:00", at) == "ended"
