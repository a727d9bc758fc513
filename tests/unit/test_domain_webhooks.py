"""Outbound webhooks and the till, the pure rules: where an endpoint may point (AWS and local), signatures, stable
ids, backoff, pausing; online stock from a till count; what a return may take back."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from storeloop.domain.till import ReturnExceedsSale, available_from_count, plan_return
from storeloop.domain.webhooks import (
    UrlRefused,
    backoff_seconds,
    check_url,
    event_id,
    should_pause,
    signature,
    signature_header,
    verify,
)


def resolver(table):
    def resolve(host):
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


DNS = resolver({"crm.example.com": ["93.184.216.34"], "inside.example.com": ["93.184.216.34", "10.1.2.3"],
                "metadata.example.com": ["169.254.169.254"], "v6.example.com": ["2606:4700::1111"],
                "localhost": ["127.0.0.1"], "empty.example.com": []})


@pytest.mark.parametrize("url", ["https://crm.example.com/hooks", "https://crm.example.com:8443/a?b=c",
                                 "https://93.184.216.34/x", "https://v6.example.com/x"])
def test_public_https_urls_are_accepted_in_aws(url):
    assert check_url(url, local=False, resolve=DNS) == url


@pytest.mark.parametrize(("url", "why"), [
    ("http://crm.example.com/hooks", "https"), ("https://127.0.0.1/x", "loopback"),
    ("https://localhost/x", "loopback"), ("https://10.0.0.1/x", "private"), ("https://172.16.5.5/x", "private"),
    ("https://192.168.0.9/x", "private"), ("https://169.254.169.254/latest", "private"),
    ("https://metadata.example.com/x", "private"), ("https://inside.example.com/x", "private"),
    ("https://[::1]/x", "loopback"), ("https://[fc00::1]/x", "private"), ("https://[::ffff:10.0.0.1]/x", "private"),
    ("https://0.0.0.0/x", "private"), ("https://100.64.0.1/x", "private"), ("https://nowhere.example.com/x", "resolve"),
    ("https://empty.example.com/x", "resolve"), ("https://u:p@crm.example.com/x", "credentials"),
    ("https:///x", "host"), ("ftp://crm.example.com/x", "https"), ("", "URL"), ("https://crm.example.com:0/x", "port"),
    ("https://crm.example.com:99999/x", "valid"), ("https://crm.example.com/x#frag", "fragment")])
def test_other_urls_are_refused_in_aws_with_the_reason(url, why):
    with pytest.raises(UrlRefused, match=why):
        check_url(url, local=False, resolve=DNS)


def test_the_local_cloud_also_allows_http_on_loopback_only():
    assert check_url("http://127.0.0.1:9000/hooks", local=True, resolve=DNS)
    assert check_url("http://localhost:9000/hooks", local=True, resolve=DNS)
    assert check_url("https://crm.example.com/hooks", local=True, resolve=DNS)
    for url in ("http://crm.example.com/hooks", "http://10.0.0.1/x", "https://192.168.1.1/x"):
        with pytest.raises(UrlRefused):
            check_url(url, local=True, resolve=DNS)


def test_signatures_are_hmac_sha256_over_timestamp_dot_body_and_verify_with_either_secret():
    body = b'{"id":"evt_1"}'
    assert signature("s3cret", "1700000000", body) == hmac.new(b"s3cret", b"1700000000." + body,
                                                               hashlib.sha256).hexdigest()
    header = signature_header(["new", "old"], "1700000000", body)
    assert header.count(",") == 1
    assert verify("new", "1700000000", body, header) and verify("old", "1700000000", body, header)
    assert not verify("other", "1700000000", body, header)
    assert not verify("new", "1700000001", body, header)  # the timestamp is signed too
    assert not verify("new", "1700000000", body + b" ", header)


def test_event_ids_are_stable_per_fact_and_distinct_across_facts():
    assert event_id("order.paid", "o_1") == event_id("order.paid", "o_1")
    assert len({event_id("order.paid", "o_1"), event_id("order.refunded", "o_1"), event_id("order.paid", "o_2"),
                event_id("pos.sale", "s1", "S-1"), event_id("pos.sale", "s1S", "-1")}) == 5
    assert event_id("x", "y").startswith("evt_") and len(event_id("x", "y")) == 36


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_seconds(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 900, 900, 900]
    assert backoff_seconds(3, base=1) == 4 and backoff_seconds(100, base=1, cap=60) == 60
    with pytest.raises(ValueError):
        backoff_seconds(0)


def test_an_endpoint_is_paused_after_24_hours_of_failures():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert not should_pause(None, now)
    assert not should_pause(now - timedelta(hours=23, minutes=59), now)
    assert should_pause(now - timedelta(hours=24), now)


def test_online_stock_is_the_count_less_what_unfinished_orders_hold():
    assert available_from_count(12, 2) == 10
    assert available_from_count(3, 5) == 0  # never negative
    assert available_from_count(4, -1) == 4  # a counter from before reservations were counted
    with pytest.raises(ValueError):
        available_from_count(-1, 0)


def plan(**kw):
    base = {"sale_total_fen": 6800, "sale_points": 68, "sold": {"latte": 2, "cookie": 1}, "returned_fen": 0,
            "returned_qty": {}, "points_due_before": 0, "total_fen": 3000, "items": {"latte": 1},
            "points_per_yuan": 1}
    return plan_return(**{**base, **kw})


def test_a_return_takes_back_what_the_returned_share_earned():
    first = plan()
    assert (first.points_due, first.returned_fen, first.fully_returned) == (30, 3000, False)
    second = plan(returned_fen=3000, returned_qty={"latte": 1}, points_due_before=30, total_fen=3800,
                  items={"latte": 1, "cookie": 1})
    assert (second.points_due, second.points_due_total, second.fully_returned) == (38, 68, True)
    odd = plan(total_fen=50, items={})  # 50 fen back: ¥67.50 left still earns 67
    assert odd.points_due == 1
    assert plan(sold=None, items={"anything": 9}).points_due == 30  # an old sale: only the money is checked


@pytest.mark.parametrize("kw", [{"total_fen": 6801}, {"items": {"latte": 3}}, {"items": {"tea": 1}},
                                {"returned_fen": 6000, "total_fen": 1000},
                                {"returned_qty": {"latte": 2}, "returned_fen": 6000, "total_fen": 800,
                                 "items": {"latte": 1}}])
def test_a_return_beyond_the_sale_is_refused(kw):
    with pytest.raises(ReturnExceedsSale):
        plan(**kw)
