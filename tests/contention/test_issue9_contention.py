"""Issue 9 invariants with real threads through the routes: a template's daily limit is never exceeded (sharded, no
hot item), and an exchange code is used exactly once however many shoppers try it at the same instant."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from storeloop.domain import clock
from storeloop.domain.clock import to_rfc3339
from tests.contention.racing import all_at_once


def logins(client, prefix, n):
    # one after another: the race under test is the claims', not the logins' (the WeChat fake is one small server)
    return [client.login(f"{prefix}-{i}")["token"] for i in range(n)]


def outcome(resp):
    return resp.status if resp.status < 400 else resp.json()["error"]["code"]


def new_template(client, admin, **fields):
    body = {"name": "flash", "kind": "cash_off", "amount_off_fen": 500, "total_stock": 500,
            "validity": {"type": "relative", "days": 7}, **fields}
    resp = client.post("/admin/coupon-templates", body, token=admin)
    assert resp.status == 201, resp.body
    return resp.json()["template_id"]


def test_the_daily_limit_holds_under_a_rush_of_claims(client, actors):
    admin = actors.admin["token"]
    # one daily shard: 24 claims at once, 7 granted, whatever the interleaving
    t = new_template(client, admin, daily_limit=7, per_member_limit=3)
    start = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "flash", "starts_at": to_rfc3339(start),
                                         "ends_at": to_rfc3339(start + timedelta(hours=1)), "template_ids": [t]},
                    token=admin).json()["campaign_id"]
    assert client.post(f"/admin/campaigns/{c}/publish", token=admin).status == 200
    tokens = logins(client, "daily", 12)
    results = all_at_once(24, lambda i: outcome(client.post(f"/campaigns/{c}/claims", {"template_id": t},
                                                            token=tokens[i % 12])))
    counts = Counter(results)
    assert counts[201] == 7, counts
    assert counts["DAILY_LIMIT_REACHED"] == 17, counts


def test_the_daily_limit_over_many_shards_is_exact(client, actors):
    admin = actors.admin["token"]
    # 120 a day over 2 shards of 60 (stock_shard_count): each shard's cap is found, the total is exact
    t = new_template(client, admin, daily_limit=120, per_member_limit=100, total_stock=1000)
    start = clock.now() - timedelta(minutes=1)
    c = client.post("/admin/campaigns", {"name": "flash", "starts_at": to_rfc3339(start),
                                         "ends_at": to_rfc3339(start + timedelta(hours=1)), "template_ids": [t]},
                    token=admin).json()["campaign_id"]
    assert client.post(f"/admin/campaigns/{c}/publish", token=admin).status == 200
    tokens = logins(client, "daily-many", 4)

    def claim_until_refused(i):
        got = []
        while True:
            result = outcome(client.post(f"/campaigns/{c}/claims", {"template_id": t}, token=tokens[i]))
            got.append(result)
            if result != 201:
                return got
    per_thread = all_at_once(4, claim_until_refused)
    successes = sum(r.count(201) for r in per_thread)
    assert successes == 120
    assert all(r[-1] == "DAILY_LIMIT_REACHED" for r in per_thread)


def test_an_exchange_code_is_used_once_under_20_concurrent_attempts(client, actors):
    admin = actors.admin["token"]
    t = new_template(client, admin, per_member_limit=5)
    codes = client.post(f"/admin/coupon-templates/{t}/exchange-codes", {"count": 3}, token=admin).json()["codes"]
    tokens = logins(client, "xchg", 20)
    results = all_at_once(20, lambda i: outcome(client.post("/me/coupons/exchange", {"code": codes[0]},
                                                            token=tokens[i])))
    counts = Counter(results)
    assert counts == {201: 1, "CODE_ALREADY_USED": 19}, counts
    # the same shopper racing themselves with one code: one coupon too
    same = all_at_once(20, lambda i: outcome(client.post("/me/coupons/exchange", {"code": codes[1]},
                                                         token=tokens[0])))
    assert Counter(same) == {201: 1, "CODE_ALREADY_USED": 19}
