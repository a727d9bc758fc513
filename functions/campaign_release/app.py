"""The campaign flow's task after the end: release the unclaimed stock of the campaign's templates.

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "released": {template_id: units}, "kept"}.
Idempotent: each shard's release is recorded once, so a retry takes nothing twice.
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
    return campaign_flow.release(campaign_flow.task_campaign_id(event))
