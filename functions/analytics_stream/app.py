"""MainTable's stream consumer: counts campaign and store-day analytics exactly once, and writes the reminder indexes.

Returns Lambda's partial-batch answer (ReportBatchItemFailures); raises only when nothing of the batch was counted.
"""

from storeloop.services import analytics_stream
from storeloop.tasks import records_handler, time_left

lambda_handler = records_handler(
    lambda records, context: analytics_stream.process_stream_batch(records, time_left(context)))
