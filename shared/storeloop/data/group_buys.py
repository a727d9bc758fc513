"""(issue 10) Group buys (拼团): the offer, each group opened on it, and the group's members.

Keys (docs/data-model.md, "Campaign kinds"):
- group buy  `GROUPBUY#<id>` / `GROUPBUY`
- group      `GROUP#<group_id>` / `GROUP`: `status` forming | formed | failed, `paid` (members paid), `size`
- member     `GROUP#<group_id>` / `MEMBER#<member_id>`: the member's order in the group (one per member)

The group's `status` and `paid` are the arbiter, as an order's status is for the order: a payment counts with a
transaction conditional on `status = forming AND paid = <what was read>` (the order's mark_paid carries it), the
flow's deadline fails the group with one conditional on `status = forming`; whichever commits first wins, so a last
payment racing the deadline ends either formed (every payment kept) or failed (every payment refunded).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from storeloop.data.models import Entity
from storeloop.domain.clock import to_rfc3339

FORMING, FORMED, FAILED = "forming", "formed", "failed"
MEMBER_PREFIX = "MEMBER#"


def group_buy_pk(group_buy_id: str) -> str:
    return f"GROUPBUY#{group_buy_id}"


def group_pk(group_id: str) -> str:
    return f"GROUP#{group_id}"


class GroupBuy(Entity):
    group_buy_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    store_ids = ListAttribute(of=UnicodeAttribute)
    group_size = NumberAttribute()
    price_fen = NumberAttribute()
    hours = NumberAttribute()
    starts_at = UnicodeAttribute()
    ends_at = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute(null=True)


class Group(Entity):
    group_id = UnicodeAttribute()
    group_buy_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    price_fen = NumberAttribute()
    size = NumberAttribute()
    paid = NumberAttribute()
    status = UnicodeAttribute()
    leader_id = UnicodeAttribute()
    opened_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    formed_at = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    settled_at = UnicodeAttribute(null=True)  # failed: every order cancelled or refunded


class GroupMember(Entity):
    group_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    joined_at = UnicodeAttribute()


def create_group_buy(group_buy_id: str, fields: dict[str, Any], at: datetime, by: str) -> GroupBuy:
    offer = GroupBuy(group_buy_pk(group_buy_id), "GROUPBUY", group_buy_id=group_buy_id, created_at=to_rfc3339(at),
                     created_by=by, **fields)
    offer.save(condition=GroupBuy.PK.does_not_exist())
    return offer


def get_group_buy(group_buy_id: str) -> GroupBuy | None:
    try:
        return GroupBuy.get(group_buy_pk(group_buy_id), "GROUPBUY")
    except DoesNotExist:
        return None


def get_group(group_id: str) -> Group | None:
    try:
        return Group.get(group_pk(group_id), "GROUP", consistent_read=True)
    except DoesNotExist:
        return None


def members(group_id: str) -> list[GroupMember]:
    """Every member of a group (one strongly consistent Query of its partition; a group has at most its size
    of paid members and a bounded number of joiners)."""
    return list(GroupMember.query(group_pk(group_id), GroupMember.SK.startswith(MEMBER_PREFIX), consistent_read=True))


def new_group(group_id: str, offer: GroupBuy, store_id: str, leader_id: str, at: datetime,
              expires_at: datetime) -> Group:
    return Group(group_pk(group_id), "GROUP", group_id=group_id, group_buy_id=offer.group_buy_id, store_id=store_id,
                 sku=offer.sku, price_fen=offer.price_fen, size=offer.group_size, paid=0, status=FORMING,
                 leader_id=leader_id, opened_at=to_rfc3339(at), expires_at=to_rfc3339(expires_at))


def _member(group_id: str, member_id: str, order_id: str, at: datetime) -> GroupMember:
    return GroupMember(group_pk(group_id), f"{MEMBER_PREFIX}{member_id}", group_id=group_id, member_id=member_id,
                       order_id=order_id, joined_at=to_rfc3339(at))


def open_step(group: Group, order_id: str, at: datetime) -> Any:
    """The leader's order transaction's part: the group and its first member."""

    def step(tx: Any) -> None:
        tx.save(group, Group.PK.does_not_exist(), "group")
        tx.save(_member(group.group_id, group.leader_id, order_id, at), GroupMember.SK.does_not_exist(),
                "group_member")
    return step


def join_step(group_id: str, member_id: str, order_id: str, at: datetime) -> Any:
    """A joiner's order transaction's part: the group still forming, and the member not in it yet."""

    def step(tx: Any) -> None:
        tx.check(Group, group_pk(group_id), "GROUP", Group.status == FORMING, "group")
        tx.save(_member(group_id, member_id, order_id, at), GroupMember.SK.does_not_exist(), "group_member")
    return step


def paid_step(group: Group, paid_before: int, at: datetime) -> Any:
    """A payment's part in the order's mark_paid: one more paid member, the group formed by the last one."""
    count = paid_before + 1
    actions = [Group.paid.set(count)]
    if count >= int(group.size):
        actions += [Group.status.set(FORMED), Group.formed_at.set(to_rfc3339(at))]

    def step(tx: Any) -> None:
        tx.update(Group(group.PK, group.SK), actions, (Group.status == FORMING) & (Group.paid == paid_before),
                  "group")
    return step


def fail_group(group_id: str, at: datetime) -> bool:
    """forming → failed (the deadline passed unformed); False if the group had already left forming."""
    try:
        Group(group_pk(group_id), "GROUP").update(
            actions=[Group.status.set(FAILED), Group.failed_at.set(to_rfc3339(at))],
            condition=Group.status == FORMING)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark_settled(group_id: str, at: datetime) -> None:
    Group(group_pk(group_id), "GROUP").update(actions=[Group.settled_at.set(to_rfc3339(at))],
                                              condition=Group.status == FAILED)
