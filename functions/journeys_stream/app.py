"""MainTable's stream, for journeys and recommendations: `joined` journeys act on new members, paid orders and POS
sales count as conversions and feed the co-purchase counts. Returns Lambda's partial-batch answer."""

from storeloop.services import journeys
from storeloop.tasks import records_handler

lambda_handler = records_handler(lambda records, context: journeys.on_stream_batch(records))
