"""The campaign flow's task after the end: release the unclaimed stock of the campaign's templates.

Invoked by Step Functions with {"campaign_id"}; returns {"campaign_id", "released": {template_id: units}, "kept"}.
Idempotent: each shard's release is recorded once, so a retry takes nothing twice.
"""

from storeloop.services import campaign_flow
from storeloop.tasks import task_handler

lambda_handler = task_handler(lambda event, context: campaign_flow.release(campaign_flow.task_campaign_id(event)))
