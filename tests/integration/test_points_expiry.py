"""Points expiry through the routes and the schedule (`cloud.run_schedule`): a balance expires POINTS_EXPIRY_DAYS after
the member's last purchase, once, as one `points_expired` ledger entry; a later purchase moves the date; points given
back after the date expire at the next run; a spend or an earn racing the run wins and the balance stays whole.

Time moves by patching `storeloop.domain.clock.now` (what the expiry rule and the job read); the order, payment and
POS flows keep the real clock, so their signatures and member codes stay valid."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from threading import Barrier

import pytest
import requests

from local.stack import load_stack
from storeloop.data import points as points_data
from storeloop.domain import clock
from storeloop.domain.clock import CN_TZ, to_rfc3339

EXPIRY = "storeloop-local-points-expiry"
D0 = date(2031, 3, 10)  # the day of the first purchases; the job runs some days after it


pytestmark = pytest.mark.notifiable


@pytest.fixture
def shop(client, actors):
    actors.store("s1")
    admin = actors.admin["token"]
    body = {"sku": "latte", "name": "拿铁", "price_fen": 3250, "stock": {"s1": 50}}
    assert client.post("/admin/products", body, token=admin).status == 201
    return {"secret": client.post("/admin/stores/s1/pos-secret", token=admin).json()["secret"]}


@contextlib.contextmanager
def on(day: date, hour: int = 12):
    """The expiry rule and the job see `day` at `hour`:00 China time."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(clock, "now", lambda: datetime(day.year, day.month, day.day, hour, tzinfo=CN_TZ))
        yield


def run_on(cloud, day: date, **event):
    """The daily run on `day` (03:00 China time), as the Scheduler sends it, or invoked with `event`."""
    with on(day, hour=3):
        return cloud.invoke("PointsExpiryFunction", event) if event else cloud.run_schedule(EXPIRY)


def place(client, token, qty=1, points=0):
    resp = client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": qty}], "points": points},
                       token=token)
    assert resp.status == 201, resp.body
    return resp.json()["order"]


def pay(wechat, order_id):
    assert requests.post(wechat.base_url + "/_sim/pay", json={"order_id": order_id}, timeout=10).json()["status"] == 200


_sales = iter(range(1, 10_000))


def pos_sale(client, secret, token, total_fen):
    code = client.get("/me/member-code", token=token).json()["code"]
    body = {"sale_id": f"S-{next(_sales)}", "total_fen": total_fen, "items": [], "coupon_codes": [],
            "occurred_at": to_rfc3339(datetime.now(CN_TZ)), "member_code": code}
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    resp = client.request("POST", "/webhooks/pos/s1", raw=raw,
                          headers={"X-StoreLoop-Timestamp": ts, "X-StoreLoop-Signature": sig})
    assert resp.status == 200, resp.body
    return resp.json()["points_earned"]


def book(client, token):
    """The ledger, oldest first, as (reason, delta); and the balance it answers with."""
    body = client.get("/me/points", token=token, query={"limit": 100}).json()
    return [(e["reason"], e["delta"]) for e in reversed(body["items"])], body["balance"]


def points(client, token):
    return client.get("/me", token=token).json()["points"]


def assert_whole(client, token):
    """The invariants: never negative, and the ledger sums to the balance (GET /me and GET /me/points agree)."""
    entries, balance = book(client, token)
    assert balance >= 0 and sum(d for _, d in entries) == balance == points(client, token), entries
    return entries, balance


def expired(summary):
    return summary["expired_members"], summary["expired_points"]


def test_the_schedule_runs_daily_at_3_china_time_and_the_earners_know_the_setting(cloud):
    lid, props = cloud.schedules[EXPIRY]
    assert lid == "PointsExpiryFunction"
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == ("cron(0 3 * * ? *)", "Asia/Shanghai")
    functions = load_stack().functions
    for name in ("PointsExpiryFunction", "WeChatPayWebhookFunction", "PosWebhookFunction"):
        assert str(functions[name].environment.get("POINTS_EXPIRY_DAYS")) == "365", name


def test_the_whole_balance_expires_365_days_after_the_last_purchase_once(client, actors, shop, wechat, cloud):
    alice, bob = actors.member("alice")["token"], actors.member("bob")["token"]
    with on(D0):
        pay(wechat, place(client, alice, qty=2)["order_id"])  # 6500 fen: 65 points
        assert pos_sale(client, shop["secret"], alice, 4599) == 45
    with on(D0 + timedelta(days=200)):
        assert pos_sale(client, shop["secret"], bob, 1000) == 10  # bought recently

    assert expired(run_on(cloud, D0 + timedelta(days=364))) == (0, 0)  # the last day the points are good
    assert points(client, alice) == 110

    summary = run_on(cloud, D0 + timedelta(days=365))
    assert expired(summary) == (1, 110) and summary["date"] == (D0 + timedelta(days=365)).isoformat()
    entries, balance = assert_whole(client, alice)
    assert balance == 0 and entries == [("order_points_earned", 65), ("pos_sale_earned", 45), ("points_expired", -110)]
    assert points(client, bob) == 10  # not due yet

    assert list(points_data.members_expiring_on(D0 + timedelta(days=365))) == []  # the date went with the points
    again = run_on(cloud, D0 + timedelta(days=365))  # again (a retry, or on demand): nothing more, nothing touched
    assert (again["expired_members"], again["expired_points"], again["cleared"]) == (0, 0, 0)
    assert expired(run_on(cloud, D0 + timedelta(days=366))) == (0, 0)  # the next day's catch-up finds nothing either
    assert len(book(client, alice)[0]) == 3

    assert expired(run_on(cloud, D0 + timedelta(days=565))) == (1, 10)
    assert assert_whole(client, bob) == ([("pos_sale_earned", 10), ("points_expired", -10)], 0)


def test_a_later_purchase_moves_the_date_and_the_old_one_expires_nothing(client, actors, shop, cloud):
    alice = actors.member("alice")["token"]
    with on(D0):
        pos_sale(client, shop["secret"], alice, 10_000)  # 100 points, due D0 + 365
    later = D0 + timedelta(days=100)
    with on(later):
        pos_sale(client, shop["secret"], alice, 2_000)  # 20 more; everything now due later + 365
    assert [s.member_id for s in points_data.members_expiring_on(D0 + timedelta(days=365))] == []
    assert len(list(points_data.members_expiring_on(later + timedelta(days=365)))) == 1

    assert expired(run_on(cloud, D0 + timedelta(days=365))) == (0, 0)
    assert points(client, alice) == 120
    assert expired(run_on(cloud, later + timedelta(days=365))) == (1, 120)
    assert assert_whole(client, alice)[1] == 0


def test_a_run_that_was_missed_is_made_up_within_the_catch_up_window(client, actors, shop, cloud):
    alice, bob = actors.member("alice")["token"], actors.member("bob")["token"]
    with on(D0):
        pos_sale(client, shop["secret"], alice, 5_000)
    with on(D0 - timedelta(days=5)):
        pos_sale(client, shop["secret"], bob, 7_000)
    due = D0 + timedelta(days=365)
    assert expired(run_on(cloud, due + timedelta(days=3))) == (1, 50)  # alice: due 3 days ago, read again
    # bob was due 8 days before that run: outside the 7 days read back by default; a recovery run reads further.
    assert points(client, bob) == 70
    assert expired(run_on(cloud, due + timedelta(days=3), catch_up_days=8)) == (1, 70)
    with pytest.raises(ValueError):
        run_on(cloud, due, catch_up_days=-1)


def test_points_given_back_keep_the_date_and_after_it_expire_at_the_next_run(client, actors, shop, cloud):
    alice = actors.member("alice")["token"]
    with on(D0):
        pos_sale(client, shop["secret"], alice, 10_000)  # 100 points, due D0 + 365
    with on(D0 + timedelta(days=10)):  # a cancelled order gives its points back: no purchase, the date stays
        order = place(client, alice, points=50)
        assert client.post(f"/orders/{order['order_id']}/cancel", token=alice).status == 200
    assert len(list(points_data.members_expiring_on(D0 + timedelta(days=365)))) == 1

    due = D0 + timedelta(days=365)
    with on(due, hour=1):  # just before the run, every point is reserved by an unpaid order
        order = place(client, alice, qty=10, points=100)
    summary = run_on(cloud, due)
    assert expired(summary) == (0, 0) and summary["cleared"] == 1  # nothing to expire: only the date goes
    assert points(client, alice) == 0
    with on(due, hour=4):  # the order is cancelled after the run: the points come back, already past their date
        assert client.post(f"/orders/{order['order_id']}/cancel", token=alice).status == 200
    assert points(client, alice) == 100
    assert expired(run_on(cloud, due + timedelta(days=1))) == (1, 100)
    entries, balance = assert_whole(client, alice)
    assert balance == 0 and entries[-3:] == [
        ("order_points_used", -100), ("order_points_released", 100), ("points_expired", -100)]


def test_points_a_refund_gives_back_after_the_date_expire_at_the_next_run(client, actors, shop, wechat, cloud):
    alice = actors.member("alice")["token"]
    manager = actors.staff("mgr", "manager", ["s1"])["token"]
    with on(D0):
        pos_sale(client, shop["secret"], alice, 10_000)  # 100
    with on(D0 + timedelta(days=1)):
        order = place(client, alice, points=100)  # 3250 - 100 = 3150 fen: earns 31, due D0 + 366
        pay(wechat, order["order_id"])
    due = D0 + timedelta(days=366)
    assert expired(run_on(cloud, due)) == (1, 31)
    with on(due + timedelta(days=2)):  # the refund returns the 100 used and claws back the 31 (all of it, none left)
        assert client.post(f"/orders/{order['order_id']}/refund", {"reason": "退货"}, token=manager).status == 200
        assert wechat.pay.wait_for_deliveries()
    assert points(client, alice) == 69
    assert expired(run_on(cloud, due + timedelta(days=3))) == (1, 69)
    entries, balance = assert_whole(client, alice)
    # (Only the job's entries are stamped with the moved clock, so compare the entries, not their order.)
    assert balance == 0 and sorted(entries) == sorted([
        ("pos_sale_earned", 100), ("order_points_used", -100), ("order_points_earned", 31), ("points_expired", -31),
        ("refund_points_returned", 100), ("refund_clawback", -31), ("points_expired", -69)])


def _racing(monkeypatch, action):
    """Run `action` (on its own thread, as another Lambda would) after the job read a member, before it writes."""
    original = points_data.expire_balance
    done: list[bool] = []

    def expire_balance(state, at):
        if not done:
            done.append(True)
            worker = threading.Thread(target=action)
            worker.start()
            worker.join()
        return original(state, at)

    monkeypatch.setattr(points_data, "expire_balance", expire_balance)
    return done


def _due_alice(client, actors, shop, wechat):
    alice = actors.member("alice")["token"]
    with on(D0):
        pay(wechat, place(client, alice, qty=2)["order_id"])  # 65
        pos_sale(client, shop["secret"], alice, 4599)  # 45
    return alice, D0 + timedelta(days=365)


def test_a_spend_between_the_read_and_the_write_wins_and_the_rest_expires(client, actors, shop, wechat, cloud,
                                                                           monkeypatch):
    alice, due = _due_alice(client, actors, shop, wechat)
    spent = []
    raced = _racing(monkeypatch, lambda: spent.append(place(client, alice, points=30)))
    assert expired(run_on(cloud, due)) == (1, 80)
    assert raced and spent
    entries, balance = assert_whole(client, alice)
    assert balance == 0 and entries[-2:] == [("order_points_used", -30), ("points_expired", -80)]


@pytest.mark.parametrize("total_fen", [1_000, 50], ids=["earning-10", "under-a-yuan-earning-0"])
def test_a_purchase_between_the_read_and_the_write_wins_and_nothing_expires(client, actors, shop, wechat, cloud,
                                                                             monkeypatch, total_fen):
    """Even a purchase that earns nothing (the balance unchanged) moves the date, and the date is checked too."""
    alice, due = _due_alice(client, actors, shop, wechat)
    raced = _racing(monkeypatch, lambda: pos_sale(client, shop["secret"], alice, total_fen))
    assert expired(run_on(cloud, due)) == (0, 0)
    assert raced
    entries, balance = assert_whole(client, alice)
    assert balance == 110 + total_fen // 100 and "points_expired" not in {reason for reason, _ in entries}
    assert expired(run_on(cloud, due + timedelta(days=365))) == (1, balance)  # the purchase's date, a year on


def test_spends_racing_the_run_on_threads_never_overdraw_and_the_ledger_stays_whole(client, actors, shop, wechat,
                                                                                     cloud):
    alice, due = _due_alice(client, actors, shop, wechat)
    gate = Barrier(4)

    def act(i):
        gate.wait()
        if i == 0:
            return run_on(cloud, due)
        return client.post("/orders", {"store_id": "s1", "items": [{"sku": "latte", "qty": 1}], "points": 30},
                           token=alice)

    with on(due, hour=3), ThreadPoolExecutor(max_workers=4) as pool:
        summary, *orders = list(pool.map(act, range(4)))
    codes = Counter(r.status for r in orders)
    assert set(codes) <= {201, 409}, [r.body for r in orders]
    assert all(r.json()["error"]["code"] == "INSUFFICIENT_POINTS" for r in orders if r.status == 409)
    entries, balance = assert_whole(client, alice)
    used = sum(-d for reason, d in entries if reason == "order_points_used")
    gone = sum(-d for reason, d in entries if reason == "points_expired")
    assert used == 30 * codes[201] and gone == summary["expired_points"]
    assert balance + used + gone == 110
    run_on(cloud, due)  # whatever a contended run left is expired now
    assert assert_whole(client, alice)[1] == 0


def test_the_days_come_from_points_expiry_days(client, actors, shop, cloud, monkeypatch):
    from storeloop.settings import SettingsError, load_settings, reset_settings

    monkeypatch.setenv("POINTS_EXPIRY_DAYS", "30")
    reset_settings()
    try:
        alice = actors.member("alice")["token"]
        with on(D0):
            pos_sale(client, shop["secret"], alice, 3_000)
        assert expired(run_on(cloud, D0 + timedelta(days=29))) == (0, 0)
        assert expired(run_on(cloud, D0 + timedelta(days=30))) == (1, 30)
        for bad in ("0", "3651", "thirty", "1.5"):
            monkeypatch.setenv("POINTS_EXPIRY_DAYS", bad)
            with pytest.raises(SettingsError, match="POINTS_EXPIRY_DAYS"):
                load_settings()
        monkeypatch.setenv("POINTS_EXPIRY_DAYS", "")
        assert load_settings().points_expiry_days == 365
    finally:
        monkeypatch.delenv("POINTS_EXPIRY_DAYS")
        reset_settings()
