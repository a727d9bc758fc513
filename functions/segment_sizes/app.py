"""Hourly schedule (issue 9): count every segment's members and write each size (services/segments.py).
Off every request path: the one job that reads all profiles (docs/segments.md)."""

from storeloop.services import segments
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: {"sizes": segments.count_sizes()})
