"""Hourly schedule (issue 9): count every segment's members and write each size (services/segments.py).
Off every request path: the one job that reads all profiles (docs/segments.md)."""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import segments

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()
    return {"sizes": segments.count_sizes()}
