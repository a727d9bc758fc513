"""MainTable's stream consumer: counts campaign and store-day analytics exactly once, and writes the reminder indexes.

Returns Lambda's partial-batch answer (ReportBatchItemFailures); raises only when nothing of the batch was counted.
"""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import analytics_stream

bootstrap()  # fail at cold start on a missing setting


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return analytics_stream.process_stream_batch(event.get("Records") or [], remaining)
