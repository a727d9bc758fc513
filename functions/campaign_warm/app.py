"""The warm flow's task: provision the claim path before a campaign's peak (the order path before a flash
sale's), or release it after the rush.

Invoked by Step Functions with {"input": {"campaign_id" | "flash_sale_id", ...}, "action": "warm"|"release"}
(executions started before flash sales were warmed pass {"campaign_id", "action"}); returns what was applied per
target. Idempotent: the provisioned numbers are recomputed from every reservation (services/warmup.py).
"""

from typing import Any

from storeloop.services import campaign_flow, warmup
from storeloop.tasks import task_handler


def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    subject = event["input"] if isinstance(event.get("input"), dict) else event
    if isinstance(subject.get("flash_sale_id"), str) and subject["flash_sale_id"]:
        kind, subject_id = warmup.FLASH_SALE, subject["flash_sale_id"]
    else:
        kind, subject_id = warmup.CAMPAIGN, campaign_flow.task_campaign_id(subject)
    action = event.get("action")
    if action == "warm":
        return warmup.warm(subject_id, kind)
    if action == "release":
        return warmup.release(subject_id, kind)
    raise ValueError("action must be warm or release")


lambda_handler = task_handler(apply)
