"""MainTable's stream, for members (issue 9): first touch, stores bought at, and the welcome gift once per member."""

from storeloop.services import member_events
from storeloop.tasks import records_handler

lambda_handler = records_handler(lambda records, context: member_events.process_stream_batch(records))
