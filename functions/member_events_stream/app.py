"""MainTable's stream, for members (issue 9): first touch, stores bought at, and the welcome gift once per member."""

from typing import Any

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import member_events

bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()
    return member_events.process_stream_batch(event.get("Records") or [])
