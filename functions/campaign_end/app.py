"""The campaign flow's task at ends_at: mark the campaign ended (live → ended).

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "status": "ended"|"cancelled"|"gone"}.
Idempotent: an ended campaign stays ended.
"""

from typing import Any

from aws_lambda_powertools import Logger

from storeloop.runtime import bootstrap
from storeloop.services import campaign_flow

logger = Logger(service="storeloop")
bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    return campaign_flow.end(campaign_flow.task_campaign_id(event))
