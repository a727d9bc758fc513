"""The campaign flow's task at starts_at: mark the campaign live (scheduled → live) and say when to remind.

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "status": "live"|"cancelled"|"gone",
"reminder_at": UTC or null}. Idempotent: a live campaign stays live; a cancelled one ends the flow.
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
    return campaign_flow.go_live(campaign_flow.task_campaign_id(event))
