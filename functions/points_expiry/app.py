"""Daily schedule (EventBridge Scheduler, 03:00 China time): expire the points of members whose balance has gone
POINTS_EXPIRY_DAYS without a purchase (services/points_expiry.py). Idempotent: a second run expires nothing more.

`{"catch_up_days": n}` in the event (0-3650) also reads the n days before today instead of the default 7: a
recovery after the job did not run for longer than that.
"""

from typing import Any

from storeloop.services import points_expiry
from storeloop.tasks import task_handler, time_left


def expire(event: dict[str, Any], context: Any) -> dict[str, Any]:
    days = event.get("catch_up_days", points_expiry.CATCH_UP_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise ValueError("catch_up_days must be a whole number of days, 0-3650")
    return points_expiry.run(days, time_left(context))


lambda_handler = task_handler(expire)
