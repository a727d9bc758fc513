"""Nightly schedule (EventBridge Scheduler): close yesterday's analytics (China time) - reconcile each store's day
with its source records, write the brand's day total and each live campaign's snapshot. Idempotent.

`{"date": "YYYY-MM-DD"}` in the event closes that day instead (a backfill, or a re-run after a fix).
"""

from datetime import date
from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import analytics_rollup

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    asked = event.get("date")
    day = date.fromisoformat(asked) if isinstance(asked, str) and asked else analytics_rollup.rollup_day()
    return analytics_rollup.rollup(day)
