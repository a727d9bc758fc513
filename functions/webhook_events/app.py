"""MainTable's stream consumer for outbound webhooks: each business event stored once and queued per endpoint.

Returns Lambda's partial-batch answer (ReportBatchItemFailures): a failure resumes at its record.
"""

from storeloop.services import webhook_events
from storeloop.settings import get_settings
from storeloop.tasks import records_handler

lambda_handler = records_handler(lambda records, context: webhook_events.process_stream_batch(get_settings(), records))
