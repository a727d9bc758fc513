"""Console login tickets (扫码登录): one item per ticket, keyed by its scene; only the secret's hash is kept.

Key (docs/data-model.md, "Console login"): `CONSOLE#<scene>` / `TICKET`, TTL `expires_at`. Every status change is a
conditional UpdateItem, so a ticket is approved once and its token handed out once.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from storeloop.data.models import Entity

PENDING, APPROVED, CONSUMED, EXPIRED = "pending", "approved", "consumed", "expired"


class NotChanged(Exception):
    """The conditional change did not apply (not pending / not approved / past its time)."""


def ticket_pk(scene: str) -> str:
    return f"CONSOLE#{scene}"


class ConsoleTicket(Entity):
    scene = UnicodeAttribute()
    secret_hash = UnicodeAttribute()  # sha256 of the ticket's secret: the secret itself stays in the browser
    status = UnicodeAttribute()  # pending | approved | consumed (expired is read from valid_until)
    created_at = UnicodeAttribute()
    valid_until = NumberAttribute()  # epoch seconds: approve and the poll check it
    expires_at = NumberAttribute()  # TTL (a while after valid_until, so a late poll still reads "expired")
    user_agent = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)
    approved_at = UnicodeAttribute(null=True)
    roles = ListAttribute(of=UnicodeAttribute, null=True)
    store_ids = ListAttribute(of=UnicodeAttribute, null=True)
    staff_role = UnicodeAttribute(null=True)
    consumed_at = UnicodeAttribute(null=True)

    def status_at(self, epoch: float) -> str:
        if self.status in (PENDING, APPROVED) and epoch >= float(self.valid_until):
            return EXPIRED
        return self.status


def create(scene: str, secret_hash: str, created_at: str, valid_until: int, keep_seconds: int,
           user_agent: str | None, ip: str | None) -> ConsoleTicket:
    item = ConsoleTicket(ticket_pk(scene), "TICKET", scene=scene, secret_hash=secret_hash, status=PENDING,
                         created_at=created_at, valid_until=valid_until, expires_at=valid_until + keep_seconds,
                         user_agent=user_agent, ip=ip)
    item.save(condition=ConsoleTicket.PK.does_not_exist())
    return item


def get(scene: str) -> ConsoleTicket | None:
    try:
        return ConsoleTicket.get(ticket_pk(scene), "TICKET", consistent_read=True)
    except DoesNotExist:
        return None


def _update(scene: str, actions: list, condition: Any) -> ConsoleTicket:
    item = ConsoleTicket(ticket_pk(scene), "TICKET")
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotChanged(scene) from None
        raise
    return item


def approve(scene: str, member_id: str, roles: list[str], store_ids: list[str], staff_role: str | None,
            at: str, epoch: int) -> ConsoleTicket:
    """pending → approved by this member, only before valid_until; NotChanged otherwise."""
    actions = [ConsoleTicket.status.set(APPROVED), ConsoleTicket.approved_by.set(member_id),
               ConsoleTicket.approved_at.set(at), ConsoleTicket.roles.set(roles),  # type: ignore[arg-type]
               ConsoleTicket.store_ids.set(store_ids)]  # type: ignore[arg-type]
    if staff_role:
        actions.append(ConsoleTicket.staff_role.set(staff_role))
    return _update(scene, actions, (ConsoleTicket.status == PENDING) & (ConsoleTicket.valid_until > epoch))


def consume(scene: str, secret_hash: str, at: str, epoch: int) -> ConsoleTicket:
    """approved → consumed, once (the poll that wins gets the token), only before valid_until."""
    return _update(scene, [ConsoleTicket.status.set(CONSUMED), ConsoleTicket.consumed_at.set(at)],
                   (ConsoleTicket.status == APPROVED) & (ConsoleTicket.secret_hash == secret_hash)
                   & (ConsoleTicket.valid_until > epoch))
