"""Hourly schedule (EventBridge Scheduler): remind members of booked visits starting in the hour after next.

The event is the schedule's Input, `{"template_id": "<WeChat subscription template for visit reminders>"}`. Safe to
run again: each visit's reminder has one message id.
"""

from storeloop.domain import clock
from storeloop.services import reminders
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: reminders.send_visit_reminders(
    clock.now(), event.get("template_id") or None))
