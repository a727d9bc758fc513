"""The campaign flow's task at ends_at: mark the campaign ended (live → ended).

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "status": "ended"|"cancelled"|"gone"}.
Idempotent: an ended campaign stays ended.
"""

from storeloop.services import campaign_flow
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: campaign_flow.end(campaign_flow.task_campaign_id(event)))
