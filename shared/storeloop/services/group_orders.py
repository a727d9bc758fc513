"""What a group-buy order waits for before its pickup or a manager's refund (issue 10): the group's state.

Apart from services/group_buys.py, which imports services/orders.py (an order of a group is an ordinary order),
so that orders.py can ask without importing it back.
"""

from __future__ import annotations

from storeloop.data import group_buys, orders
from storeloop.errors import Conflict


def require_formed(order: orders.Order) -> None:
    """Pickup waits for the group: 409 GROUP_NOT_FORMED before it forms."""
    group = group_buys.get_group(order.campaign_ref or "")
    if group is None or group.status != group_buys.FORMED:
        raise Conflict("the order's group has not formed yet", code="GROUP_NOT_FORMED")


def require_settled(order: orders.Order) -> None:
    """A manager's refund of a paid group order waits until the group formed (a failed group refunds itself)."""
    group = group_buys.get_group(order.campaign_ref or "")
    if group is not None and group.status == group_buys.FORMING:
        raise Conflict("the order's group is still forming; it is refunded by itself if it fails",
                       code="GROUP_FORMING")
