"""The campaign flow's last task: write the final report on the campaign.

Invoked by Step Functions with {"campaign_id", "notified", "reminded"}; returns {"campaign_id", "report"}.
Idempotent: a retry writes the numbers again.
"""

from typing import Any

from storeloop.services import campaign_flow
from storeloop.tasks import task_handler


def report(event: dict[str, Any], context: Any) -> dict[str, Any]:
    written = campaign_flow.write_report(campaign_flow.task_campaign_id(event), int(event.get("notified") or 0),
                                         int(event.get("reminded") or 0))
    return {"campaign_id": event["campaign_id"], "report": written.model_dump() if written else None}


lambda_handler = task_handler(report)
