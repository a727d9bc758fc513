"""MainTable's stream consumer for outbound webhooks: each business event stored once and queued per endpoint.

Returns Lambda's partial-batch answer (ReportBatchItemFailures): a failure resumes at its record.
"""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import webhook_events
from storeloop.settings import get_settings

bootstrap()  # fail at cold start on a missing setting


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    return webhook_events.process_stream_batch(get_settings(), event.get("Records") or [])
