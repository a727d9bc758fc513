"""Nightly schedule (EventBridge Scheduler): close yesterday's analytics (China time) - reconcile each store's day
with its source records, write the brand's day total and each live campaign's snapshot. Idempotent.

`{"date": "YYYY-MM-DD"}` in the event closes that day instead (a backfill, or a re-run after a fix).
"""

from datetime import date
from typing import Any

from storeloop.services import analytics_rollup
from storeloop.tasks import task_handler


def rollup(event: dict[str, Any], context: Any) -> dict[str, Any]:
    asked = event.get("date")
    day = date.fromisoformat(asked) if isinstance(asked, str) and asked else analytics_rollup.rollup_day()
    return analytics_rollup.rollup(day)


lambda_handler = task_handler(rollup)
