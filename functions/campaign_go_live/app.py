"""The campaign flow's task at starts_at: mark the campaign live (scheduled → live) and say when to remind.

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "status": "live"|"cancelled"|"gone",
"reminder_at": UTC or null}. Idempotent: a live campaign stays live; a cancelled one ends the flow.
"""

from storeloop.services import campaign_flow
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: campaign_flow.go_live(campaign_flow.task_campaign_id(event)))
