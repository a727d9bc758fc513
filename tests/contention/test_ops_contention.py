"""Operations invariants under real threads: a console ticket's token is handed out once, however many polls race;
restocks racing claims and each other never make or lose a unit."""

from __future__ import annotations

from collections import Counter

from local.testing import ok
from tests.contention.racing import all_at_once
from tests.contention.test_claim_contention import coupons_of, live_campaign, logins, outcome


def test_racing_polls_get_the_console_token_exactly_once(client, actors, wechat) -> None:
    wechat.msg.reset()
    ticket = ok(client.post("/auth/console-tickets"), 201)
    ok(client.post(f"/auth/console-scenes/{ticket['scene']}/approve", token=actors.admin["token"]))
    answers = all_at_once(12, lambda i: client.get(f"/auth/console-tickets/{ticket['ticket']}").json())
    tokens = [a["token"] for a in answers if a.get("token")]
    assert len(tokens) == 1, answers
    assert Counter(a["status"] for a in answers) == Counter({"approved": 1, "consumed": 11})


def test_racing_approvals_approve_once(client, actors, wechat) -> None:
    wechat.msg.reset()
    actors.store("s1")
    staff = [actors.staff(f"race-mgr-{i}", "manager", ["s1"]) for i in range(4)]
    ticket = ok(client.post("/auth/console-tickets"), 201)
    answers = all_at_once(4, lambda i: outcome(client.post(f"/auth/console-scenes/{ticket['scene']}/approve",
                                                           token=staff[i]["token"])))
    assert Counter(answers) == Counter({200: 1, "TICKET_NOT_PENDING": 3})
    got = ok(client.get(f"/auth/console-tickets/{ticket['ticket']}"))
    assert got["member_id"] in {s["member_id"] for s in staff}


def test_restocks_racing_claims_keep_every_unit(client, actors, cloud) -> None:
    admin = actors.admin["token"]
    campaign_id, template_id = live_campaign(client, admin, total_stock=30)
    shoppers = logins(client, "restock-race", 24)

    def act(i: int) -> object:
        if i % 4 == 0:  # 6 restocks of 50 units each, racing 18 claims
            return outcome(client.post(f"/admin/coupon-templates/{template_id}/restock", {"add": 50}, token=admin))
        return outcome(client.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id},
                                   token=shoppers[i]))

    results = all_at_once(24, act)
    assert Counter(results) == Counter({200: 6, 201: 18}), results
    one = ok(client.get(f"/admin/coupon-templates/{template_id}", token=admin))
    claimed = len(coupons_of(cloud, template_id))
    assert claimed == 18 == one["issued"]
    assert one["total_stock"] == 30 + 6 * 50 and one["remaining"] == one["total_stock"] - claimed
