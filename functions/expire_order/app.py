"""The order payment flow's task: after the payment timeout, cancel the order if it is still unpaid.

Invoked by Step Functions with {"order_id"}; returns {"order_id", "outcome"}. Idempotent: a paid, cancelled or
refunded order is left as it is, so a retried task or a payment racing the timeout ends in one state.
"""

from typing import Any

from storeloop.services import orders
from storeloop.tasks import logger, task_handler


def expire(event: dict[str, Any], context: Any) -> dict[str, str]:
    order_id = event.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise ValueError("the task input needs an order_id")
    result = orders.expire_order(order_id)
    logger.info("payment timeout", extra=result)
    return result


lambda_handler = task_handler(expire)
