"""Hourly schedule (EventBridge Scheduler): remind members of booked visits starting in the hour after next.

The event is the schedule's Input, `{"template_id": "<WeChat subscription template for visit reminders>"}`. Safe to
run again: each visit's reminder has one message id.
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
    return reminders.send_visit_reminders(clock.now(), event.get("template_id") or None)
