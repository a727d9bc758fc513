"""Visits through the routes: a day's slots, booking, cancelling, checking in, a member's list, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storeloop.domain.clock import CN_TZ, now


def today() -> date:
    return now().astimezone(CN_TZ).date()


def slot(day: date, hhmm: str = "14:00") -> str:
    return f"{day.isoformat()}T{hhmm}:00+08:00"


def book(client, token, store_id, start, **extra):
    return client.post("/appointments", {"store_id": store_id, "slot_start": start, **extra}, token=token)


def slots(client, token, store_id, day):
    resp = client.get(f"/stores/{store_id}/slots", token=token, query={"date": day.isoformat()})
    assert resp.status == 200, resp.body
    return {s["start"]: s for s in resp.json()["slots"]}


def error(resp):
    return resp.json()["error"]


# ------------------------------------------------------------------------------------------- slots


def test_a_day_has_the_store_s_slots_each_with_full_capacity(client, actors, day):
    actors.store("s1")
    actors.store("s2", open_time="09:30", close_time="21:30", slot_minutes=45, slot_capacity=6)
    token = actors.member()["token"]
    resp = client.get("/stores/s1/slots", token=token, query={"date": day.isoformat()})
    assert resp.status == 200
    got = resp.json()["slots"]
    assert len(got) == 24
    assert got[0] == {"start": slot(day, "10:00"), "end": slot(day, "10:30"), "remaining": 4}
    assert got[-1] == {"start": slot(day, "21:30"), "end": slot(day, "22:00"), "remaining": 4}
    other = slots(client, token, "s2", day)
    assert len(other) == 16  # 720 minutes / 45
    assert all(s["remaining"] == 6 for s in other.values())


def test_remaining_counts_the_bookings_of_that_slot_only(client, actors, day):
    actors.store("s1")
    for code in ("a", "b"):
        assert book(client, actors.member(code)["token"], "s1", slot(day)).status == 201
    assert book(client, actors.member("c")["token"], "s1", slot(day, "15:00")).status == 201
    got = slots(client, actors.member()["token"], "s1", day)
    assert got[slot(day)]["remaining"] == 2
    assert got[slot(day, "15:00")]["remaining"] == 3
    assert sum(s["remaining"] for s in got.values()) == 24 * 4 - 3
    # Another day of the same store is untouched.
    assert all(s["remaining"] == 4 for s in slots(client, actors.member()["token"], "s1", day + timedelta(days=1))
               .values())


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "tomorrow", "2026-1-5", "20261126", "",
                                 "2026-11-26T10:00:00+08:00"])
def test_a_bad_date_is_400(client, actors, bad):
    actors.store("s1")
    resp = client.get("/stores/s1/slots", token=actors.member()["token"], query={"date": bad})
    assert resp.status == 400 and error(resp)["code"] == "VALIDATION_FAILED"
    assert error(resp)["details"][0]["field"] == "date"


def test_the_date_is_required(client, actors):
    actors.store("s1")
    resp = client.get("/stores/s1/slots", token=actors.member()["token"])
    assert resp.status == 400 and error(resp)["code"] == "VALIDATION_FAILED"


def test_slots_of_an_unknown_store_are_404(client, actors, day):
    resp = client.get("/stores/nope/slots", token=actors.member()["token"], query={"date": day.isoformat()})
    assert resp.status == 404 and error(resp)["code"] == "NOT_FOUND"


def test_visits_need_a_token(client, actors, day):
    actors.store("s1")
    assert client.get("/stores/s1/slots", query={"date": day.isoformat()}).status == 401
    assert book(client, None, "s1", slot(day)).status == 401
    assert client.get("/me/appointments").status == 401


# ------------------------------------------------------------------------------------------- booking


def test_a_member_books_a_visit(client, actors, day):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", slot(day), note="  two people ")
    assert resp.status == 201, resp.body
    body = resp.json()
    assert body["appointment_id"].startswith("ap_")
    assert body["status"] == "booked"
    assert body["store_id"] == "s1"
    assert body["slot_start"] == slot(day) and body["slot_end"] == slot(day, "14:30")
    assert body["note"] == "two people" and body["coupon_id"] is None
    assert body["created_at"].endswith("+08:00")


def test_a_slot_start_in_another_offset_is_the_same_slot(client, actors, day):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", f"{day.isoformat()}T06:00:00Z")  # 14:00 in Shanghai
    assert resp.status == 201 and resp.json()["slot_start"] == slot(day)
    again = book(client, actors.member()["token"], "s1", slot(day))
    assert again.status == 409 and error(again)["code"] == "ALREADY_BOOKED"


def test_a_full_slot_is_409_slot_full(client, actors, day):
    actors.store("s1", slot_capacity=2)
    for code in ("a", "b"):
        assert book(client, actors.member(code)["token"], "s1", slot(day)).status == 201
    resp = book(client, actors.member("c")["token"], "s1", slot(day))
    assert resp.status == 409 and error(resp)["code"] == "SLOT_FULL"
    assert slots(client, actors.member("c")["token"], "s1", day)[slot(day)]["remaining"] == 0
    # The next slot still has room.
    assert book(client, actors.member("c")["token"], "s1", slot(day, "14:30")).status == 201


def test_the_same_member_and_slot_twice_is_409_already_booked(client, actors, day):
    actors.store("s1")
    token = actors.member()["token"]
    assert book(client, token, "s1", slot(day)).status == 201
    resp = book(client, token, "s1", slot(day))
    assert resp.status == 409 and error(resp)["code"] == "ALREADY_BOOKED"
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == 3


def test_already_booked_wins_over_slot_full(client, actors, day):
    actors.store("s1", slot_capacity=1)
    token = actors.member()["token"]
    assert book(client, token, "s1", slot(day)).status == 201
    resp = book(client, token, "s1", slot(day))
    assert resp.status == 409 and error(resp)["code"] == "ALREADY_BOOKED"


@pytest.mark.parametrize("hhmm", ["14:15", "09:30", "22:00", "21:59"])
def test_a_time_that_is_not_a_slot_start_is_400(client, actors, day, hhmm):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", slot(day, hhmm))
    assert resp.status == 400 and error(resp)["details"][0] == {
        "field": "slot_start", "issue": "not_a_slot_start",
        "message": "slot_start is not the start of one of this store's slots"}


def test_a_second_off_the_grid_is_400(client, actors, day):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", f"{day.isoformat()}T14:00:01+08:00")
    assert resp.status == 400 and error(resp)["details"][0]["issue"] == "not_a_slot_start"


def test_a_past_slot_is_400(client, actors):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", slot(today() - timedelta(days=1)))
    assert resp.status == 400 and error(resp)["details"][0]["issue"] == "in_the_past"


def test_booking_reaches_30_days_ahead_and_no_further(client, actors):
    actors.store("s1")
    token = actors.member()["token"]
    assert book(client, token, "s1", slot(today() + timedelta(days=30))).status == 201
    resp = book(client, token, "s1", slot(today() + timedelta(days=31)))
    assert resp.status == 400 and error(resp)["details"][0]["issue"] == "too_far_ahead"


@pytest.mark.parametrize("change, field", [
    ({"colour": "red"}, "colour"),
    ({"slot_start": "2030-01-01T14:00:00"}, "slot_start"),  # no offset
    ({"slot_start": "2030-01-01 14:00"}, "slot_start"),
    ({"slot_start": 1900000000}, "slot_start"),
    ({"slot_start": None}, "slot_start"),
    ({"store_id": "has space"}, "store_id"),
    ({"store_id": None}, "store_id"),
    ({"note": "x" * 201}, "note"),
    ({"note": 5}, "note"),
    ({"coupon_id": "c/1"}, "coupon_id"),
])
def test_bad_booking_fields_are_named(client, actors, day, change, field):
    actors.store("s1")
    body = {"store_id": "s1", "slot_start": slot(day), **change}
    body = {k: v for k, v in body.items() if v is not None}
    resp = client.post("/appointments", body, token=actors.member()["token"])
    assert resp.status == 400, resp.body
    assert error(resp)["code"] == "VALIDATION_FAILED"
    assert field in {d["field"] for d in error(resp)["details"]}


def test_a_note_of_200_characters_is_fine(client, actors, day):
    actors.store("s1")
    resp = book(client, actors.member()["token"], "s1", slot(day), note="预" * 200)
    assert resp.status == 201 and resp.json()["note"] == "预" * 200


def test_a_body_that_is_not_json_is_400(client, actors):
    resp = client.request("POST", "/appointments", raw=b"{not json", token=actors.member()["token"],
                          headers={"Content-Type": "application/json"})
    assert resp.status == 400


def test_booking_at_an_unknown_store_is_404(client, actors, day):
    resp = book(client, actors.member()["token"], "nope", slot(day))
    assert resp.status == 404 and error(resp)["code"] == "NOT_FOUND"


def claim_coupon(client, actors, member_token):
    """A live campaign with one template, and one coupon of it claimed by the member, all through the routes."""
    admin = actors.admin["token"]
    template = client.post("/admin/coupon-templates", {
        "name": "到店礼", "kind": "cash_off", "amount_off_fen": 1000, "total_stock": 10,
        "validity": {"type": "relative", "days": 7}}, token=admin)
    assert template.status == 201, template.body
    template_id = template.json()["template_id"]
    starts, ends = now() - timedelta(minutes=1), now() + timedelta(days=7)
    campaign = client.post("/admin/campaigns", {"name": "开业", "starts_at": starts.isoformat(),
                                                "ends_at": ends.isoformat(), "template_ids": [template_id]},
                           token=admin)
    assert campaign.status == 201, campaign.body
    campaign_id = campaign.json()["campaign_id"]
    assert client.post(f"/admin/campaigns/{campaign_id}/publish", token=admin).status == 200
    claim = client.post(f"/campaigns/{campaign_id}/claims", {"template_id": template_id}, token=member_token)
    assert claim.status == 201, claim.body
    return claim.json()["coupon"]["coupon_id"]


def test_a_visit_for_a_coupon_needs_the_caller_s_coupon(client, actors, day):
    actors.store("s1")
    me, other = actors.member("me")["token"], actors.member("other")["token"]
    mine, theirs = claim_coupon(client, actors, me), claim_coupon(client, actors, other)
    for coupon_id in (theirs, "c_unknown"):
        resp = book(client, me, "s1", slot(day), coupon_id=coupon_id)
        assert resp.status == 404 and error(resp)["code"] == "COUPON_NOT_FOUND"
    resp = book(client, me, "s1", slot(day), coupon_id=mine)
    assert resp.status == 201 and resp.json()["coupon_id"] == mine
    assert slots(client, me, "s1", day)[slot(day)]["remaining"] == 3  # the refusals took nothing


def test_the_same_idempotency_key_books_once(client, actors, day):
    actors.store("s1")
    token = actors.member()["token"]
    headers = {"Idempotency-Key": "visit-1"}
    body = {"store_id": "s1", "slot_start": slot(day)}
    first = client.post("/appointments", body, token=token, headers=headers)
    again = client.post("/appointments", body, token=token, headers=headers)
    assert first.status == again.status == 201
    assert first.json() == again.json()
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == 3
    other = client.post("/appointments", body | {"note": "changed"}, token=token, headers=headers)
    assert other.status == 409 and error(other)["code"] == "IDEMPOTENCY_KEY_REUSED"
    # Keys are the caller's own: another member with the same key books their own visit.
    theirs = client.post("/appointments", body, token=actors.member("b")["token"], headers=headers)
    assert theirs.status == 201 and theirs.json()["appointment_id"] != first.json()["appointment_id"]


# ------------------------------------------------------------------------------------------- cancelling


def test_only_the_owner_can_cancel_others_get_404(client, actors, day):
    actors.store("s1")
    owner = actors.member("owner")["token"]
    appt = book(client, owner, "s1", slot(day)).json()["appointment_id"]
    for token in (actors.member("stranger")["token"], actors.admin["token"]):
        resp = client.delete(f"/appointments/{appt}", token=token)
        assert resp.status == 404 and error(resp)["code"] == "NOT_FOUND"
    for unknown in ("ap_" + "0" * 32, "nope", "x" * 300):
        assert client.delete(f"/appointments/{unknown}", token=owner).status == 404
    assert slots(client, owner, "s1", day)[slot(day)]["remaining"] == 3


def test_cancelling_frees_the_place_once_and_the_member_can_rebook(client, actors, day):
    actors.store("s1", slot_capacity=1)
    token = actors.member()["token"]
    appt = book(client, token, "s1", slot(day)).json()["appointment_id"]
    resp = client.delete(f"/appointments/{appt}", token=token)
    assert resp.status == 200 and resp.json()["status"] == "cancelled"
    assert resp.json()["cancelled_at"].endswith("+08:00")
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == 1
    again = client.delete(f"/appointments/{appt}", token=token)
    assert again.status == 409 and error(again)["code"] == "APPOINTMENT_NOT_ACTIVE"
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == 1  # not 2: freed once
    # The place is free for anyone, including the same member.
    rebooked = book(client, token, "s1", slot(day))
    assert rebooked.status == 201 and rebooked.json()["appointment_id"] != appt
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == 0
    # Cancelling the old one again still frees nothing, and leaves the new booking's marker alone.
    assert client.delete(f"/appointments/{appt}", token=token).status == 409
    dup = book(client, token, "s1", slot(day))
    assert dup.status == 409 and error(dup)["code"] == "ALREADY_BOOKED"


# ------------------------------------------------------------------------------------------- check-in


def test_check_in_by_staff_of_that_store_once(client, actors, day):
    actors.store("s1")
    actors.store("s2")
    shopper = actors.member("shopper")["token"]
    appt = book(client, shopper, "s1", slot(day)).json()["appointment_id"]
    path = f"/appointments/{appt}/check-in"
    for token in (actors.staff("clerk-2", "clerk", ["s2"])["token"], actors.member("other")["token"], shopper):
        resp = client.post(path, token=token)
        assert resp.status == 403 and error(resp)["code"] == "FORBIDDEN"
    clerk = actors.staff("clerk-1", "clerk", ["s1"])["token"]
    resp = client.post(path, token=clerk)
    assert resp.status == 200 and resp.json()["status"] == "checked_in"
    assert resp.json()["checked_in_at"].endswith("+08:00")
    twice = client.post(path, token=clerk)
    assert twice.status == 409 and error(twice)["code"] == "APPOINTMENT_NOT_ACTIVE"
    # A checked-in visit can no longer be cancelled (its place was used).
    cancelled = client.delete(f"/appointments/{appt}", token=shopper)
    assert cancelled.status == 409 and error(cancelled)["code"] == "APPOINTMENT_NOT_ACTIVE"
    assert slots(client, shopper, "s1", day)[slot(day)]["remaining"] == 3


def test_a_cancelled_visit_cannot_be_checked_in(client, actors, day):
    actors.store("s1")
    shopper = actors.member()["token"]
    appt = book(client, shopper, "s1", slot(day)).json()["appointment_id"]
    assert client.delete(f"/appointments/{appt}", token=shopper).status == 200
    manager = actors.staff("manager-1", "manager", ["s1"])["token"]
    resp = client.post(f"/appointments/{appt}/check-in", token=manager)
    assert resp.status == 409 and error(resp)["code"] == "APPOINTMENT_NOT_ACTIVE"


def test_check_in_of_an_unknown_appointment_is_404(client, actors):
    actors.store("s1")
    clerk = actors.staff("clerk-1", "clerk", ["s1"])["token"]
    for unknown in ("ap_" + "0" * 32, "nope"):
        assert client.post(f"/appointments/{unknown}/check-in", token=clerk).status == 404


# ------------------------------------------------------------------------------------------- my appointments


def test_my_appointments_page_by_page_latest_first(client, actors, day):
    actors.store("s1")
    me = actors.member("me")["token"]
    starts = [slot(day, f"{h}:00") for h in range(10, 15)]
    ids = {book(client, me, "s1", s).json()["appointment_id"]: s for s in starts}
    assert book(client, actors.member("other")["token"], "s1", starts[0]).status == 201
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        resp = client.get("/me/appointments", token=me, query={"limit": 2, "cursor": cursor})
        assert resp.status == 200, resp.body
        page = resp.json()
        seen += page["items"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3  # 2 + 2 + 1: no empty page after the last
    assert [a["slot_start"] for a in seen] == sorted(starts, reverse=True)
    assert {a["appointment_id"] for a in seen} == set(ids)
    # Cancelled visits stay in the list, with their status.
    first = seen[0]["appointment_id"]
    assert client.delete(f"/appointments/{first}", token=me).status == 200
    items = client.get("/me/appointments", token=me).json()["items"]
    assert len(items) == 5 and items[0]["status"] == "cancelled"
    assert client.get("/me/appointments", token=actors.member("nobody")["token"]).json() == {"items": [],
                                                                                             "next": None}


def test_a_cursor_from_another_member_or_garbage_is_400(client, actors, day):
    actors.store("s1")
    other = actors.member("other")["token"]
    for h in (10, 11):
        assert book(client, other, "s1", slot(day, f"{h}:00")).status == 201
    theirs = client.get("/me/appointments", token=other, query={"limit": 1}).json()["next"]
    assert theirs
    me = actors.member("me")["token"]
    for cursor in (theirs, "not-a-cursor", "e30", "W10"):  # e30 = {}, W10 = []
        resp = client.get("/me/appointments", token=me, query={"cursor": cursor})
        assert resp.status == 400 and error(resp)["details"][0]["field"] == "cursor", cursor


@pytest.mark.parametrize("limit", [0, 101, "many"])
def test_limit_is_1_to_100(client, actors, limit):
    resp = client.get("/me/appointments", token=actors.member()["token"], query={"limit": limit})
    assert resp.status == 400 and error(resp)["code"] == "VALIDATION_FAILED"


# ------------------------------------------------------------------------------------------- a busy slot


def conflicting_transactions(conflicts):
    """pynamodb's TransactWrite whose first `conflicts` commits are cancelled as DynamoDB cancels a transaction
    that meets another one on the same item (TransactionConflict); later commits run for real."""
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
    from pynamodb.transactions import TransactWrite

    class ConflictingTransactWrite(TransactWrite):
        left, attempts = conflicts, 0

        def _commit(self):
            cls = type(self)
            cls.attempts += 1
            if cls.left > 0:
                cls.left -= 1
                error = {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}
                raise TransactWriteError("conflict", cause=VerboseClientError(
                    error, "TransactWriteItems",
                    cancellation_reasons=[None, None, CancellationReason(code="TransactionConflict")]))
            return super()._commit()

    return ConflictingTransactWrite


@pytest.mark.parametrize("conflicts, status", [(2, 201), (5, 429)])
def test_transaction_conflicts_are_retried_then_answered_429(client, actors, day, monkeypatch, conflicts, status):
    from storeloop.data import appointments

    actors.store("s1")
    token = actors.member()["token"]
    fake = conflicting_transactions(conflicts)
    monkeypatch.setattr(appointments, "TransactWrite", fake)
    monkeypatch.setattr(appointments.time, "sleep", lambda s: None)  # the backoff, without the wait
    resp = book(client, token, "s1", slot(day))
    assert resp.status == status, resp.body
    assert fake.attempts == min(conflicts + 1, appointments.CONFLICT_ATTEMPTS)
    if status == 429:
        assert error(resp)["code"] == "RATE_LIMITED" and resp.headers.get("Retry-After") == "1"
    monkeypatch.undo()
    assert slots(client, token, "s1", day)[slot(day)]["remaining"] == (3 if status == 201 else 4)
