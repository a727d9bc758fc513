"""Staff assignments and their revocation; the access the authorizer reads from the member's profile.

Keys (docs/data-model.md, "Members and staff"):
- staff assignment `MEMBER#<member_id>` / `STAFF` (`role`, `store_ids`, `version`); GSI1 `STAFF` / `<member_id>`
  (every staff member, for the admin list).
- store link        `STORE#<store_id>#STAFF` / `<member_id>`: the staff of one store.
- on the profile    `MEMBER#<member_id>` / `PROFILE`: `staff_role`, `staff_store_ids`, `access_version`, written
  in the same transaction, read by the authorizer on every request (data/access.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from storeloop.data import cursors
from storeloop.data.keys import member_pk
from storeloop.data.members import StaffAssignment
from storeloop.data.models import Entity, cancellation_codes, connection, read_page, start_key
from storeloop.domain.clock import now, to_rfc3339

STAFF_PARTITION = "STAFF"
MAX_TRANSACTION_ITEMS = 100
ATTEMPTS = 3


class MemberNotFound(Exception):
    pass


class Busy(Exception):
    """Other changes of this member's staff access kept winning; the client retries (429)."""


class TooManyChanges(Exception):
    """More store links to write and delete than one transaction holds."""


class ProfileAccess(Entity):
    """A view of the member profile holding only the access fields (never saved whole: updates only)."""

    access_version = NumberAttribute(null=True)
    staff_role = UnicodeAttribute(null=True)
    staff_store_ids = ListAttribute(of=UnicodeAttribute, null=True)


class StaffRecord(StaffAssignment):
    """The staff assignment with its list index and version (the same item as members.StaffAssignment)."""

    version = NumberAttribute(null=True)


class StoreStaffLink(Entity):
    member_id = UnicodeAttribute()


def store_staff_pk(store_id: str) -> str:
    return f"STORE#{store_id}#STAFF"


def get_staff(member_id: str) -> StaffRecord | None:
    try:
        return StaffRecord.get(member_pk(member_id), "STAFF", consistent_read=True)
    except DoesNotExist:
        return None


def _write(member_id: str, current: StaffRecord | None, role: str | None, store_ids: list[str]) -> None:
    """One transaction: the assignment (or its deletion), the store links that change, the profile's access."""
    old = [str(s) for s in (current.store_ids if current is not None else [])]
    added = [s for s in store_ids if s not in old]
    removed = [s for s in old if s not in store_ids]
    if len(added) + len(removed) + 2 > MAX_TRANSACTION_ITEMS:
        raise TooManyChanges()
    version = int(current.version or 0) if current is not None else 0
    unchanged = (StaffRecord.version == version) if current is not None and current.version is not None else \
        (StaffRecord.PK.exists() & StaffRecord.version.does_not_exist()) if current is not None else \
        StaffRecord.PK.does_not_exist()
    profile = ProfileAccess(member_pk(member_id), "PROFILE")
    with TransactWrite(connection=connection()) as tx:
        for store_id in removed:
            tx.delete(StoreStaffLink(store_staff_pk(store_id), member_id))
        if role is None:
            if current is not None:
                tx.delete(StaffRecord(member_pk(member_id), "STAFF"), condition=unchanged)
            tx.update(profile, actions=[ProfileAccess.staff_role.remove(), ProfileAccess.staff_store_ids.remove(),
                                        ProfileAccess.access_version.add(1)],
                      condition=ProfileAccess.PK.exists())
            return
        tx.save(StaffRecord(member_pk(member_id), "STAFF", member_id=member_id, role=role, store_ids=store_ids,
                            updated_at=to_rfc3339(now()), version=version + 1,
                            GSI1PK=STAFF_PARTITION, GSI1SK=member_id), condition=unchanged)
        for store_id in added:
            tx.save(StoreStaffLink(store_staff_pk(store_id), member_id, member_id=member_id))
        tx.update(profile, actions=[ProfileAccess.staff_role.set(role),
                                    ProfileAccess.staff_store_ids.set(store_ids),  # type: ignore[arg-type]
                                    ProfileAccess.access_version.add(1)],
                  condition=ProfileAccess.PK.exists())


def _change(member_id: str, role: str | None, store_ids: list[str]) -> StaffRecord | None:
    for _ in range(ATTEMPTS):
        current = get_staff(member_id)
        try:
            _write(member_id, current, role, store_ids)
            return current
        except TransactWriteError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[-1] == "ConditionalCheckFailed":  # the profile (updates come last)
                raise MemberNotFound(member_id) from None
            if "ConditionalCheckFailed" not in codes and "TransactionConflict" not in codes:
                raise
            # another change of this member's staff access won the race: read it again and redo
    raise Busy(member_id)


def assign(member_id: str, role: str, store_ids: list[str]) -> None:
    """Make the member a clerk or manager of these stores (replacing any earlier assignment); in force at once."""
    _change(member_id, role, store_ids)


def revoke(member_id: str) -> StaffRecord | None:
    """Take the staff role away, in force at once; the assignment that was revoked (None if there was none)."""
    return _change(member_id, None, [])


def list_all(limit: int, cursor: str | None) -> tuple[list[StaffRecord], str | None]:
    """A page of every staff member by member id (GSI1 `STAFF`), after the client's `cursor`; the next cursor."""
    after = cursors.start_key(cursor, ("PK", "SK", "GSI1PK", "GSI1SK"), GSI1PK=STAFF_PARTITION)
    query = StaffRecord.gsi1.query(STAFF_PARTITION, limit=limit + 1, last_evaluated_key=start_key(after))
    items, last = read_page(query, limit, index="GSI1")
    return items, cursors.next_cursor(last)  # type: ignore[return-value]


def list_of_store(store_id: str, limit: int, cursor: str | None) -> tuple[list[StaffRecord], str | None]:
    """A page of the staff of one store (Query `STORE#<id>#STAFF`), then their assignments (BatchGetItem), after the
    client's `cursor`; the next cursor."""
    after = cursors.start_key(cursor, ("PK", "SK"), PK=store_staff_pk(store_id))
    links, last = read_page(StoreStaffLink.query(store_staff_pk(store_id), limit=limit + 1,
                                                 last_evaluated_key=start_key(after)), limit)
    found = {s.member_id: s for s in _batch(str(link.member_id) for link in links)}
    return [found[str(link.member_id)] for link in links if str(link.member_id) in found], cursors.next_cursor(last)


def _batch(member_ids: Iterable[str]) -> list[StaffRecord]:
    keys = [(member_pk(m), "STAFF") for m in dict.fromkeys(member_ids)]
    return list(StaffRecord.batch_get(keys)) if keys else []
