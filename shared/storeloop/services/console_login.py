"""Console login by scanning (扫码登录): a ticket for the browser, approval from the mini-program, a token once.

The browser gets `ticket` = `<scene>.<secret>` and shows the mini-program code of `scene` only; the table keeps
the secret's SHA-256, never the secret, so neither the picture nor the table can collect the token. A staff
member or admin scans the code, sees who asks (`GET /auth/console-scenes/{scene}`) and approves; the browser's
poll then turns the approved ticket into a session token with one conditional update (approved → consumed), so
the token is handed out exactly once. Tickets are valid for TICKET_SECONDS, checked on every read and write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from storeloop import tokens
from storeloop.caller import Caller
from storeloop.data import console_tickets
from storeloop.domain.clock import now, to_rfc3339
from storeloop.errors import Conflict, Forbidden, NotFound
from storeloop.schemas.console import (
    ConsoleApprovalOut,
    ConsoleSceneOut,
    ConsoleTicketOut,
    ConsoleTicketStatusOut,
    RequestedBy,
)
from storeloop.services.miniprogram_codes import mini_program_code_data_url, valid_scene
from storeloop.settings import Settings

TICKET_SECONDS = 120
KEEP_SECONDS = 600  # the item outlives its validity a little, so a late poll reads "expired", not 404
SCENE_PREFIX = "cl_"
APPROVE_PAGE = "pages/console/approve"  # the mini-program page that reads the scene and asks to confirm


class TicketNotPending(Conflict):
    code, message = "TICKET_NOT_PENDING", "this console login is no longer waiting (expired or used)"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_ticket(user_agent: str | None, ip: str | None) -> ConsoleTicketOut:
    scene = SCENE_PREFIX + secrets.token_urlsafe(16)  # 25 characters of WeChat's scene alphabet
    secret = secrets.token_urlsafe(32)
    # The code first: WeChat unavailable → 503 and no ticket is left behind.
    image = mini_program_code_data_url(scene, APPROVE_PAGE)
    console_tickets.create(scene, _hash(secret), to_rfc3339(now()), int(time.time()) + TICKET_SECONDS, KEEP_SECONDS,
                           (user_agent or "")[:200] or None, (ip or "")[:64] or None)
    return ConsoleTicketOut(ticket=f"{scene}.{secret}", scene=scene, qr_image=image, expires_in=TICKET_SECONDS)


def _ticket_of_scene(scene: str) -> console_tickets.ConsoleTicket:
    found = console_tickets.get(scene) if scene.startswith(SCENE_PREFIX) and valid_scene(scene) else None
    if found is None:
        raise NotFound("no such console login")
    return found


def _expires_in(ticket: console_tickets.ConsoleTicket, epoch: float) -> int:
    return max(0, int(float(ticket.valid_until) - epoch))


def _may_approve(caller: Caller) -> None:
    if not ({"staff", "admin"} & set(caller.roles)):
        raise Forbidden("only staff or admins may sign in to the console")


def describe_scene(caller: Caller, scene: str) -> ConsoleSceneOut:
    """What the confirm screen shows: which browser asks, and how long it still waits."""
    _may_approve(caller)
    ticket = _ticket_of_scene(scene)
    epoch = time.time()
    status = ticket.status_at(epoch)
    if status != console_tickets.PENDING:
        raise TicketNotPending()
    return ConsoleSceneOut(scene=scene, status=status, expires_in=_expires_in(ticket, epoch),  # type: ignore[arg-type]
                           requested_by=RequestedBy(user_agent=ticket.user_agent, ip=ticket.ip))


def approve_scene(caller: Caller, scene: str) -> ConsoleApprovalOut:
    """pending → approved by the caller; the console session gets the caller's roles and stores."""
    _may_approve(caller)
    ticket = _ticket_of_scene(scene)
    try:
        console_tickets.approve(scene, caller.member_id, list(caller.roles), list(caller.store_ids), caller.staff_role,
                                to_rfc3339(now()), int(time.time()))
    except console_tickets.NotChanged:
        raise TicketNotPending() from None
    return ConsoleApprovalOut(scene=ticket.scene, status="approved", member_id=caller.member_id,
                              roles=list(caller.roles))


def poll_ticket(settings: Settings, ticket_value: str) -> ConsoleTicketStatusOut:
    """The browser's poll: pending / expired / consumed, or — once — approved with the session token."""
    scene, _, secret = ticket_value.partition(".")
    ticket = console_tickets.get(scene) if secret and scene.startswith(SCENE_PREFIX) and valid_scene(scene) else None
    if ticket is None or not hmac.compare_digest(ticket.secret_hash, _hash(secret)):
        raise NotFound("no such console login")
    epoch = time.time()
    status = ticket.status_at(epoch)
    if status == console_tickets.PENDING:
        return ConsoleTicketStatusOut(status="pending", expires_in=_expires_in(ticket, epoch))
    if status != console_tickets.APPROVED:
        return ConsoleTicketStatusOut(status=status)  # type: ignore[arg-type]
    try:
        console_tickets.consume(scene, ticket.secret_hash, to_rfc3339(now()), int(epoch))
    except console_tickets.NotChanged:  # another poll took it (or it just expired): say what it is now
        fresh = console_tickets.get(scene)
        return ConsoleTicketStatusOut(status=fresh.status_at(time.time()) if fresh else console_tickets.EXPIRED)  # type: ignore[arg-type]
    caller = Caller(str(ticket.approved_by), tuple(str(r) for r in ticket.roles or ()) or ("member",),
                    tuple(str(s) for s in ticket.store_ids or []), ticket.staff_role)
    token = tokens.issue_session(settings.token_signing_key, caller, settings.token_ttl_seconds)
    return ConsoleTicketStatusOut(status="approved", token=token, expires_in=settings.token_ttl_seconds,
                                  member_id=caller.member_id, roles=list(caller.roles),
                                  store_ids=list(caller.store_ids))
