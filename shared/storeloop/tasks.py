"""The task-handler factory: the Lambda entry point of every function not behind API Gateway (the HTTP one is api/app).

Step Functions tasks, schedules, and stream and queue consumers differ in one call; each factory here wraps it
with what they share: settings checked at cold start (a missing one fails the init, not the first event), the
logging context, and `bootstrap()` on each invocation (a no-op when warm; it rebinds after the local cloud resets
a stack). It loads no HTTP machinery, and Powertools' batch utility only in the function that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from storeloop.runtime import bootstrap

logger = Logger(service="storeloop")

Result = TypeVar("Result")
Event = dict[str, Any]
# Lambda's partial-batch answer (ReportBatchItemFailures): {"batchItemFailures": [{"itemIdentifier": id}, ...]},
# the records to deliver again (for a stream: the first failure, from which the shard resumes).
BatchAnswer = Mapping[str, Any]


def task_handler(run: Callable[[Event, Any], Result]) -> Callable[[Event, Any], Result]:
    """The entry point of a Step Functions task or a schedule: `run(event, context)` answers with its result (the
    state machine's next input, or the run's summary); an exception fails the task, for the caller to retry."""
    bootstrap()  # fail at cold start on a missing setting

    @logger.inject_lambda_context(log_event=False)
    def lambda_handler(event: Event, context: Any) -> Result:
        bootstrap()  # no-op when warm; rebinds after the local cloud resets a stack
        return run(event, context)

    return lambda_handler


def records_handler(run: Callable[[list[dict[str, Any]], Any], BatchAnswer]) -> Callable[[Event, Any], BatchAnswer]:
    """The entry point of a stream or queue consumer that answers for its batch: `run(records, context)` gets the
    event's Records (none: an empty list) and returns the partial-batch answer."""
    return task_handler(lambda event, context: run(event.get("Records") or [], context))


def sqs_message_handler(for_batch: Callable[[Any], Callable[[str], object]]) -> Callable[[Event, Any], BatchAnswer]:
    """The entry point of an SQS consumer that handles one message at a time: `for_batch(context)` is called once
    per batch and gives the handler of a message's body; a message whose handler raises is reported, for SQS to
    deliver again."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    def run(event: Event, context: Any) -> BatchAnswer:
        handle = for_batch(context)
        # A processor per invocation: it holds the batch's state (the local cloud may run invocations in parallel).
        processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return process_partial_response(event=event, record_handler=lambda record: handle(record.body),
                                        processor=processor, context=context)

    return task_handler(run)


def time_left(context: Any) -> Callable[[], int] | None:
    """The invocation's `get_remaining_time_in_millis` (None without a Lambda context): for runs that stop early."""
    return getattr(context, "get_remaining_time_in_millis", None)
