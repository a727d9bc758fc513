"""A visit slot never holds more bookings than its capacity, a member holds it once, a cancel frees it once:
proven with real threads through the routes; and what the stream produced from the race holds exactly the bookings
made (the visit-reminder index of the slot's hour; no visits counted before a check-in)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from storeloop.data.analytics import appointments_in_hour
from storeloop.data.appointments import store_day_appointments
from storeloop.domain.clock import CN_TZ, now, parse_rfc3339, to_rfc3339
from tests.contention.racing import all_at_once, store_totals

CAPACITY = 4


def slot_of_tomorrow() -> tuple[str, str]:
    day = (now().astimezone(CN_TZ).date() + timedelta(days=1)).isoformat()
    return day, f"{day}T14:00:00+08:00"


def remaining(client, token, day, start):
    resp = client.get("/stores/s1/slots", token=token, query={"date": day})
    assert resp.status == 200
    return next(s["remaining"] for s in resp.json()["slots"] if s["start"] == start)




def streamed(cloud, client, actors, start):
    """The bookings the stream consumer indexed for the slot's hour, and the store's visits it counted."""
    visits = store_totals(cloud, client, actors.admin["token"], "s1")["visits"]
    return set(appointments_in_hour(to_rfc3339(parse_rfc3339(start))[:13])), visits


def test_50_members_booking_a_slot_of_4_get_exactly_4(client, actors, cloud):
    actors.store("s1", slot_capacity=CAPACITY)
    day, start = slot_of_tomorrow()
    with ThreadPoolExecutor(max_workers=10) as pool:
        members = list(pool.map(lambda i: actors.member(f"booker-{i}"), range(50)))
    results = all_at_once(50, lambda i: client.post("/appointments", {"store_id": "s1", "slot_start": start},
                                                      token=members[i]["token"]))
    statuses = Counter(r.status for r in results)
    assert statuses == {201: CAPACITY, 409: 50 - CAPACITY}, statuses
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"SLOT_FULL"}
    assert remaining(client, members[0]["token"], day, start) == 0
    # The store's day list (what staff check in from) agrees with the counter: 4 visits, not more.
    assert len(store_day_appointments("s1", day)) == CAPACITY
    # Each booking belongs to the member who made it, and nobody else holds one.
    for member, resp in zip(members, results):
        mine = client.get("/me/appointments", token=member["token"]).json()["items"]
        assert [a["appointment_id"] for a in mine] == ([resp.json()["appointment_id"]] if resp.status == 201 else [])
    assert streamed(cloud, client, actors, start) == ({r.json()["appointment_id"] for r in results if r.status == 201},
                                                     0)


def test_one_member_booking_a_slot_in_10_threads_gets_it_once(client, actors, cloud):
    actors.store("s1", slot_capacity=CAPACITY)
    day, start = slot_of_tomorrow()
    token = actors.member("eager")["token"]
    results = all_at_once(10, lambda i: client.post("/appointments", {"store_id": "s1", "slot_start": start},
                                                      token=token))
    assert Counter(r.status for r in results) == {201: 1, 409: 9}
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"ALREADY_BOOKED"}
    assert remaining(client, token, day, start) == CAPACITY - 1
    assert len(store_day_appointments("s1", day)) == 1
    assert len(client.get("/me/appointments", token=token).json()["items"]) == 1
    assert streamed(cloud, client, actors, start) == ({r.json()["appointment_id"] for r in results if r.status == 201},
                                                     0)


def test_10_parallel_cancels_free_the_place_once(client, actors, cloud):
    actors.store("s1", slot_capacity=CAPACITY)
    day, start = slot_of_tomorrow()
    token = actors.member("owner")["token"]
    others = [actors.member(f"other-{i}")["token"] for i in range(CAPACITY - 1)]
    booked = client.post("/appointments", {"store_id": "s1", "slot_start": start}, token=token)
    assert booked.status == 201
    for other in others:  # the slot full: a double free would show as remaining > 1, not just as a number
        assert client.post("/appointments", {"store_id": "s1", "slot_start": start}, token=other).status == 201
    assert remaining(client, token, day, start) == 0
    path = f"/appointments/{booked.json()['appointment_id']}"
    results = all_at_once(10, lambda i: client.delete(path, token=token))
    assert Counter(r.status for r in results) == {200: 1, 409: 9}
    assert {r.json()["error"]["code"] for r in results if r.status == 409} == {"APPOINTMENT_NOT_ACTIVE"}
    assert remaining(client, token, day, start) == 1
    booked_ids = {booked.json()["appointment_id"]}
    for other in others:  # and back to exactly capacity once everyone cancels
        appt = client.get("/me/appointments", token=other).json()["items"][0]["appointment_id"]
        booked_ids.add(appt)
        assert client.delete(f"/appointments/{appt}", token=other).status == 200
    assert remaining(client, token, day, start) == CAPACITY
    # Indexed once per booking (the reminder checks the booking's status when it sends); no visit counted.
    assert streamed(cloud, client, actors, start) == (booked_ids, 0)
