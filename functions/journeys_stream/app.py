"""MainTable's stream, for journeys and recommendations: `joined` journeys act on new members, paid orders and POS
sales count as conversions and feed the co-purchase counts. Returns Lambda's partial-batch answer."""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import journeys

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    return journeys.on_stream_batch(event.get("Records") or [])
