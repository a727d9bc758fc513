"""The campaign flow's task before the end: remind one page of subscribers holding an unredeemed coupon.

Invoked by Step Functions with {"campaign_id", "cursor", "queued"}; returns the next {"cursor" (null: done), "queued"}.
Idempotent: message ids are stable per campaign and member, so a retried page spends no grant twice.
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
    return campaign_flow.remind_page(campaign_flow.task_campaign_id(event), event.get("cursor"),
                                      int(event.get("queued") or 0))
