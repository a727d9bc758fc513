"""SQS consumer of OutboundMessagesQueue: sends subscription messages through WeChat, one grant each."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from storeloop.api.app import logger
from storeloop.runtime import bootstrap
from storeloop.services import messages
from storeloop.settings import get_settings

bootstrap()  # fail at cold start on a missing setting


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict, context: Any) -> dict:
    bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    sender = messages.outbound_sender(get_settings(), remaining)  # one access-token read per batch

    def record_handler(record: SQSRecord) -> str:
        return sender.deliver(record.body)

    # A processor per invocation: it holds the batch's state (the local cloud may run invocations in parallel).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
