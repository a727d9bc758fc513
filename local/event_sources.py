"""The functions' event sources as Lambda runs them: SQS queues and table streams found in the template, their
records delivered as Lambda's pollers deliver them (drained now by tests, polled on threads by `make run`), and
the schedules each function declares."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from local import streams
from local.clients import REGION, client
from local.handlers import LambdaContext
from local.stack import Resolver, Stack

log = logging.getLogger("local")

QueueSource = tuple[str, str, int]  # (queue url, function, batch size)
Schedules = dict[str, tuple[str, dict[str, Any]]]  # schedule name -> (function, event properties)
Invoke = Callable[..., Any]  # (function, event[, context]) -> the handler's answer


def find(stack: Stack, resolver: Resolver) -> tuple[list[QueueSource], list[streams.StreamSource], Schedules]:
    """Every function's SQS, DynamoDB stream and schedule events, as the template declares them."""
    queues: list[QueueSource] = []
    tables: list[streams.StreamSource] = []
    schedules: Schedules = {}
    for lid, fn in stack.functions.items():
        for name, ev in fn.events.items():
            props = ev.get("Properties") or {}
            if ev.get("Type") == "SQS":
                url = resolver.resolve({"Ref": props["Queue"]["Fn::GetAtt"][0]})
                queues.append((url, lid, int(props.get("BatchSize", 10))))
            elif ev.get("Type") == "DynamoDB":
                table = props["Stream"]["Fn::GetAtt"][0]
                tables.append(streams.StreamSource.from_event(table, lid, props))
            elif ev.get("Type") in ("Schedule", "ScheduleV2"):
                props = resolver.resolve(props)  # names and inputs may use !Sub / !Ref
                schedules[props.get("Name") or f"{lid}-{name}"] = (lid, props)
    return queues, tables, schedules


def poll_queue(sqs: Any, url: str, arn: str, function: str, batch: int, invoke: Invoke, wait: int = 0) -> int:
    """One receive from the queue: its messages to the function as one batch. Returns batches run (0 or 1)."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch, 10), WaitTimeSeconds=wait,
                              AttributeNames=["All"], MessageAttributeNames=["All"])
    messages = got.get("Messages") or []
    if not messages:
        return 0
    event = {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody"), "eventSource": "aws:sqs", "eventSourceARN": arn,
        "awsRegion": REGION} for m in messages]}
    failed: set[str] = set()
    try:
        result = invoke(function, event)
        for item in (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []:
            failed.add(item["itemIdentifier"])
    except Exception:  # noqa: BLE001 - the whole batch returns to the queue, as with Lambda
        log.exception("SQS batch failed in %s", function)
        failed = {m["MessageId"] for m in messages}
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return 1


def jsonable(value: Any) -> Any:
    """Stream records as Lambda sends them: JSON types only (boto3 gives datetimes and bytes)."""
    import datetime as dt

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    if type(value).__name__ == "Decimal":
        return str(value)
    return value


def poll_stream(endpoint: str, source: streams.StreamSource, physical: dict[str, dict[str, str]], timeout: int,
                invoke: Invoke) -> int:
    """One round of the stream source (`local.streams.poll_once`) against the engine at `endpoint`; what it skips
    goes to its OnFailure queue. Returns batches run."""
    arn = physical[source.table]["StreamArn"]

    def shape(record: dict[str, Any]) -> dict[str, Any]:  # the Lambda event's record
        return {**jsonable(record), "awsRegion": REGION, "eventSourceARN": arn}

    def deliver(records: list[dict[str, Any]]) -> Any:
        return invoke(source.function, {"Records": records}, LambdaContext(source.function, timeout))

    def discard(src: streams.StreamSource, shard: str, batch: list[dict[str, Any]], error: str) -> None:
        keys = [r["dynamodb"].get("Keys") for r in batch]
        log.error("stream records skipped after %d retries in %s: %s", src.max_retries, src.function, keys)
        if src.on_failure and src.on_failure in physical:
            body = streams.failure_record(src, arn, shard, batch, error, physical[src.function]["Arn"])
            client("sqs").send_message(QueueUrl=physical[src.on_failure]["Ref"], MessageBody=json.dumps(body))

    return streams.poll_once(client("dynamodbstreams", endpoint), arn, source, shape, deliver, discard)


def keep_polling(step: Callable[[], int], stop: threading.Event, interval: float, what: str) -> None:
    """A background poller's loop: `step` until `stop`, resting `interval` when it found nothing."""
    while not stop.is_set():
        try:
            if not step():
                stop.wait(interval)
        except Exception:  # noqa: BLE001 - keep polling, as Lambda does
            log.exception("%s", what)
            stop.wait(1)
