"""The campaign flow's last task: write the final report on the campaign.

Invoked by Step Functions with {"campaign_id", "notified", "reminded"}; returns {"campaign_id", "report"}.
Idempotent: a retry writes the numbers again.
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
    report = campaign_flow.write_report(campaign_flow.task_campaign_id(event), int(event.get("notified") or 0),
                                        int(event.get("reminded") or 0))
    return {"campaign_id": event["campaign_id"], "report": report.model_dump() if report else None}
