"""Daily schedule (EventBridge Scheduler): remind holders of active coupons that expire in 24-48 h.

The event is the schedule's Input; `template_id` there is the message template for campaigns without a
`reminder_template_id`. Safe to run again: each coupon's reminder has one message id.
"""

from storeloop.domain import clock
from storeloop.services import reminders
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: reminders.send_coupon_expiry_reminders(
    clock.now(), event.get("template_id") or None))
