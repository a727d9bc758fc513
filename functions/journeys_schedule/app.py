"""Daily (10:00 China time): journeys with a time trigger enter the members due (indexes, never a Scan)."""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import journeys

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()
    return journeys.run_time_triggers()
