"""(issue 10) What a campaign kind's order gives back when it is cancelled or times out, in the order's transaction.

data/order_transitions.py calls `release` for an order with a `campaign_kind`; a group buy's order holds store stock
like any order (released there), a flash sale's order holds one unit of the sale's own sharded stock and one of the
member's purchases of it.
"""

from __future__ import annotations

from typing import Any

FLASH_SALE, GROUP_BUY = "flash_sale", "group_buy"


def release(tx: Any, order: Any) -> None:
    """Add to the order's transaction (`tx`, a data/transactions.LabelledTx) giving back what its campaign reserved."""
    if order.campaign_kind == FLASH_SALE:
        from storeloop.data import flash_sales

        flash_sales.release_unit(tx, order.campaign_ref, int(order.campaign_shard), order.member_id)
