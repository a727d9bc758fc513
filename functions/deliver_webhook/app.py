"""The webhook delivery queue's consumer: POSTs each event, signed, to its endpoint; failures back off, then DLQ.

Returns Lambda's partial-batch answer (ReportBatchItemFailures).
"""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import webhook_delivery
from storeloop.settings import get_settings

bootstrap()  # fail at cold start on a missing setting


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    return webhook_delivery.process_batch(get_settings(), event.get("Records") or [])
