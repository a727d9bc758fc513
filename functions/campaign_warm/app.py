"""The warm flow's task: provision the claim path before a campaign's peak, or release it after the rush.

Invoked by Step Functions with {"campaign_id", "action": "warm"|"release"}; returns what was applied per target.
Idempotent: the provisioned numbers are recomputed from every campaign's reservation (services/warmup.py).
"""

from typing import Any

from aws_lambda_powertools import Logger

from storeloop.runtime import bootstrap
from storeloop.services import campaign_flow, warmup

logger = Logger(service="storeloop")
bootstrap()


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    campaign_id = campaign_flow.task_campaign_id(event)
    action = event.get("action")
    if action == "warm":
        return warmup.warm(campaign_id)
    if action == "release":
        return warmup.release(campaign_id)
    raise ValueError("action must be warm or release")
