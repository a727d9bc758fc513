"""(issue 10) Group buys (拼团): create the offer, open a group (the leader's order), join it, read it; a payment
counted toward its group; the group flow's deadline that fails an unformed group and refunds it.

Orders are ordinary orders (services/orders.py) at the group price, holding store stock; what is particular is
the group item (data/group_buys.py): a payment counts only with a transaction conditional on the group still
forming at the paid count it read (else the payment is refused and refunded automatically), and the deadline
fails the group with one conditional on it still forming. Then every order of a failed group is cancelled
(unpaid) or refunded through WeChat Pay (paid), each by the order's own conditional transition: exactly once,
however often the flow's task runs.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from storeloop import aws
from storeloop.caller import Caller
from storeloop.data import group_buys, order_transitions, orders
from storeloop.data.campaign_orders import GROUP_BUY
from storeloop.domain.clock import now, parse_rfc3339
from storeloop.domain.errors import OutOfStock
from storeloop.domain.points import points_earned
from storeloop.errors import Conflict, NotFound
from storeloop.schemas.coupons import is_id
from storeloop.schemas.group_buys import (
    CreateGroupBuyRequest,
    GroupBuyOut,
    GroupOut,
    JoinGroupResponse,
    OpenGroupRequest,
    OpenGroupResponse,
)
from storeloop.services import campaign_kinds
from storeloop.services.orders import cancel_for, send_refund
from storeloop.settings import Settings

logger = Logger(service="storeloop", child=True)

PAY_ATTEMPTS = 8
REASON_GROUP_FAILED = "group_failed"


def offer_out(offer: group_buys.GroupBuy) -> GroupBuyOut:
    return GroupBuyOut(
        group_buy_id=offer.group_buy_id, sku=offer.sku, name=offer.name, store_ids=[str(s) for s in offer.store_ids],
        group_size=int(offer.group_size), price_fen=int(offer.price_fen), hours=int(offer.hours),
        starts_at=offer.starts_at, ends_at=offer.ends_at,
        status=campaign_kinds.window_status(offer.starts_at, offer.ends_at, now()), created_at=offer.created_at)


def group_out(group: group_buys.Group) -> GroupOut:
    paid, size = int(group.paid), int(group.size)
    return GroupOut(
        group_id=group.group_id, group_buy_id=group.group_buy_id, store_id=group.store_id, sku=group.sku,
        price_fen=int(group.price_fen), status=group.status, size=size, members=paid,  # type: ignore[arg-type]
        needed=max(0, size - paid) if group.status != group_buys.FAILED else size - paid, opened_at=group.opened_at,
        expires_at=group.expires_at, formed_at=group.formed_at, failed_at=group.failed_at,
        path=f"pages/group/index?group_id={group.group_id}")


def create_group_buy(caller: Caller, body: CreateGroupBuyRequest) -> GroupBuyOut:
    name = campaign_kinds.product_name(body.sku, body.store_ids)
    offer = group_buys.create_group_buy("gb_" + uuid.uuid4().hex[:20], {**body.model_dump(), "name": name}, now(),
                                  caller.member_id)
    return offer_out(offer)


def _offer(group_buy_id: str) -> group_buys.GroupBuy:
    offer = group_buys.get_group_buy(group_buy_id) if is_id(group_buy_id) else None
    if offer is None:
        raise NotFound(f"group buy {group_buy_id} not found")
    return offer


def get_group_buy(group_buy_id: str) -> GroupBuyOut:
    return offer_out(_offer(group_buy_id))


def _group(group_id: str) -> group_buys.Group:
    group = group_buys.get_group(group_id) if is_id(group_id) else None
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return group


def get_group(group_id: str) -> GroupOut:
    return group_out(_group(group_id))


def _refusal(failed: orders.ReservationFailed, sku: str) -> Exception:
    if failed.what == "stock":
        return OutOfStock(details={"sku": sku})
    if failed.what == "group_member":
        return Conflict("you are already in this group", code="ALREADY_IN_GROUP")
    if failed.what == "group":
        return Conflict("the group is no longer forming", code="GROUP_NOT_FORMING")
    return failed


def open_group(settings: Settings, caller: Caller, group_buy_id: str, body: OpenGroupRequest) -> OpenGroupResponse:
    """The leader's order at the group price, and the group with its timer (the group flow)."""
    if not settings.group_buy_state_machine_arn:
        raise RuntimeError("GROUP_BUY_STATE_MACHINE_ARN is not set for this function")
    offer = _offer(group_buy_id)
    at = now()
    status = campaign_kinds.window_status(offer.starts_at, offer.ends_at, at)
    if status != "live":
        raise Conflict(f"the group buy is {status}", code="GROUP_BUY_NOT_LIVE")
    if body.store_id not in offer.store_ids:
        raise Conflict("the group buy is not at this store", code="NOT_SOLD_AT_STORE")
    group_id = "g_" + uuid.uuid4().hex[:20]
    window = int(offer.hours) * settings.group_buy_hour_seconds
    group = group_buys.new_group(group_id, offer, body.store_id, caller.member_id, at, at + timedelta(seconds=window))

    def attempt(order: orders.Order) -> None:
        try:
            order_transitions.place_order(order, at, group_buys.open_step(group, order.order_id, at))
        except orders.ReservationFailed as failed:
            raise _refusal(failed, offer.sku) from None
        # The timer once the group exists: the flow fails it at the deadline unless it formed.
        try:
            aws.start_execution(settings.group_buy_state_machine_arn, group_id,
                                {"group_id": group_id, "wait_seconds": window})
        except Exception:
            # No group without its timer: fail it and release the leader's order now.
            group_buys.fail_group(group_id, at)
            cancel_for(order, at, "group_flow_failed")
            raise

    placed = campaign_kinds.place_campaign_order(settings, caller, body.store_id, offer.sku, offer.name,
                                                 int(offer.price_fen), GROUP_BUY, group_id, at, attempt,
                                                 store_stock=True)
    return OpenGroupResponse(group_id=group_id, group=group_out(group), order=placed.order, payment=placed.payment)


def join_group(settings: Settings, caller: Caller, group_id: str) -> JoinGroupResponse:
    """A friend's order in a forming group: 409 GROUP_FULL (formed), GROUP_NOT_FORMING (failed or out of time),
    ALREADY_IN_GROUP (joining one's own group twice)."""
    group = _group(group_id)
    at = now()
    _require_forming(group, at)
    offer = _offer(group.group_buy_id)

    def attempt(order: orders.Order) -> None:
        try:
            order_transitions.place_order(order, at,
                                          group_buys.join_step(group_id, caller.member_id, order.order_id, at))
        except orders.ReservationFailed as failed:
            if failed.what == "group":
                _require_forming(_group(group_id), at)
            raise _refusal(failed, group.sku) from None

    placed = campaign_kinds.place_campaign_order(settings, caller, group.store_id, group.sku, offer.name,
                                                 int(group.price_fen), GROUP_BUY, group_id, at, attempt,
                                                 store_stock=True)
    return JoinGroupResponse(group=group_out(_group(group_id)), order=placed.order, payment=placed.payment)


def _require_forming(group: group_buys.Group, at: datetime) -> None:
    if group.status == group_buys.FORMED:
        raise Conflict("the group has formed: it is full", code="GROUP_FULL")
    if group.status == group_buys.FAILED or at >= parse_rfc3339(group.expires_at):
        raise Conflict("the group did not form in time", code="GROUP_NOT_FORMING")


# --- payments (from services/order_notifications.py) ---------------------------------------------------


def on_payment(settings: Settings, order: orders.Order, transaction_id: str, at: datetime) -> str | None:
    """Count a pending group order's payment toward its group ("paid"), or refuse it: the order then waits for
    its automatic refund (refund_pending), which the notification handler sends. None: the order is no longer
    pending (the caller reads it again)."""
    for _ in range(PAY_ATTEMPTS):
        group = group_buys.get_group(order.campaign_ref or "")
        takes = (group is not None and group.status == group_buys.FORMING and int(group.paid) < int(group.size)
                 and at < parse_rfc3339(group.expires_at))
        if group is None or not takes:
            why = "the group was full" if group is not None and group.status == group_buys.FORMED else \
                "the group did not form in time"
            try:
                order_transitions.refuse_payment(order, at, transaction_id, why)
            except orders.StatusChanged:
                return None
            logger.info("group payment refused", extra={"order_id": order.order_id, "reason": why})
            return None
        code = f"{secrets.randbelow(10**6):06d}"
        earned = points_earned(int(order.payable_fen), settings.points_per_yuan)
        try:
            order_transitions.mark_paid(order, at, transaction_id, code, earned,
                                        group_buys.paid_step(group, int(group.paid), at))
        except orders.StatusChanged:
            return None
        except orders.StepFailed:
            continue  # another payment or the deadline moved the group: read it again
        return "paid"
    raise orders.Busy()


# --- the group flow's deadline --------------------------------------------------------------------------


def settle_group(settings: Settings, group_id: str) -> dict[str, Any]:
    """The group flow's task at the deadline: fail the group unless it formed, then cancel or refund every order
    of a failed group. Safe to run any number of times: each order's transition happens at most once."""
    group = group_buys.get_group(group_id)
    if group is None:
        return {"group_id": group_id, "outcome": "not_found"}
    at = now()
    if group.status == group_buys.FORMING:
        group_buys.fail_group(group_id, at)
        group = group_buys.get_group(group_id) or group
    if group.status != group_buys.FAILED:
        return {"group_id": group_id, "outcome": f"already_{group.status}"}
    cancelled = refunded = 0
    for member in group_buys.members(group_id):
        order = orders.get_order(member.order_id)
        if order is None:
            continue
        if order.status == orders.PENDING_PAYMENT and cancel_for(order, at, REASON_GROUP_FAILED):
            cancelled += 1
            continue
        order = orders.get_order(member.order_id) or order
        if order.status == orders.PAID:
            try:
                order_transitions.request_refund(order, at, "the group did not form", "system")
            except orders.StatusChanged:
                pass
            order = orders.get_order(member.order_id) or order
        if order.status == orders.REFUND_PENDING and not order.refund_id:
            send_refund(settings, order)
            refunded += 1
    group_buys.mark_settled(group_id, at)
    logger.info("group failed", extra={"group_id": group_id, "cancelled": cancelled, "refunded": refunded})
    return {"group_id": group_id, "outcome": "failed", "cancelled": cancelled, "refunded": refunded}
