"""The webhook delivery queue's consumer: POSTs each event, signed, to its endpoint; failures back off, then DLQ.

Returns Lambda's partial-batch answer (ReportBatchItemFailures).
"""

from storeloop.services import webhook_delivery
from storeloop.settings import get_settings
from storeloop.tasks import records_handler

lambda_handler = records_handler(lambda records, context: webhook_delivery.process_batch(get_settings(), records))
