"""Daily (10:00 China time): journeys with a time trigger enter the members due (indexes, never a Scan)."""

from storeloop.services import journeys
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: journeys.run_time_triggers())
