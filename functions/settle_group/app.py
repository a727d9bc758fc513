"""The group buy flow's task at a group's deadline: fail it unless it formed; cancel or refund its orders.

Invoked by Step Functions with {"group_id"}; returns {"group_id", "outcome", ...}. Idempotent: every order's
transition is conditional, so a retried task cancels or refunds nothing twice.
"""

from typing import Any

from storeloop.services import group_buys
from storeloop.settings import get_settings
from storeloop.tasks import logger, task_handler


def settle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    group_id = event.get("group_id")
    if not isinstance(group_id, str) or not group_id:
        raise ValueError("the task input needs a group_id")
    result = group_buys.settle_group(get_settings(), group_id)
    logger.info("group deadline", extra=result)
    return result


lambda_handler = task_handler(settle)
