"""The campaign flow's task after going live: queue the launch message for one page of the audience.

Invoked by Step Functions with {"campaign_id", "cursor", "queued"}; returns the next {"cursor" (null: done), "queued"}.
Idempotent: message ids are stable per campaign and member, so a retried page spends no grant twice.
"""

from storeloop.services import campaign_flow
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: campaign_flow.notify_page(
    campaign_flow.task_campaign_id(event), event.get("cursor"), int(event.get("queued") or 0)))
