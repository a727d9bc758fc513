"""Daily schedule (EventBridge Scheduler): remind holders of active coupons that expire in 24-48 h.

The event is the schedule's Input; `template_id` there is the message template for campaigns without a
`reminder_template_id`. Safe to run again: each coupon's reminder has one message id.
"""

from typing import Any

from storeloop.api.app import logger
from storeloop.domain import clock
from storeloop.runtime import bootstrap
from storeloop.services import reminders

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    return reminders.send_coupon_expiry_reminders(clock.now(), event.get("template_id") or None)
