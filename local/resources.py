"""The template's resources made in the local cloud: physical names, queues and state machines in moto, tables
(with their indexes, TTL and stream) in DynamoDB Local; and their teardown."""

from __future__ import annotations

import json
import logging
from typing import Any

from local.clients import REGION
from local.stack import ACCOUNT, Resolver, Stack

log = logging.getLogger("local")

Physical = dict[str, dict[str, str]]  # logical id -> {"Ref": ..., "Arn": ..., ...}


def table_name(lid: str) -> str:
    # One stack at a time per process and one engine per process: fixed names keep the warm clients warm.
    return f"storeloop-local-{lid}"


def name_resources(stack: Stack, physical: Physical) -> None:
    """The names of what needs no creating (secrets, functions, the API, layers) and of the tables to come."""
    for lid in stack.resources("AWS::SecretsManager::Secret"):
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{lid}-local"
        physical[lid] = {"Ref": arn, "Arn": arn}
    for lid in stack.functions:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{lid}"
        physical[lid] = {"Ref": lid, "Arn": arn}
    for lid in stack.resources("AWS::Serverless::Api"):
        physical[lid] = {"Ref": "local", "RootResourceId": "root"}
    for lid in stack.resources("AWS::Serverless::LayerVersion"):
        physical[lid] = {"Ref": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{lid}:1"}
    for lid in stack.resources("AWS::DynamoDB::Table"):  # names now, the tables in create_tables
        name = table_name(lid)
        physical[lid] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}


def create_queues(sqs: Any, stack: Stack, physical: Physical) -> None:
    """Dead-letter queues first, so a redrive policy can name them."""
    pending = dict(stack.resources("AWS::SQS::Queue"))
    while pending:
        for lid, res in list(pending.items()):
            props = res.get("Properties") or {}
            redrive = props.get("RedrivePolicy")
            target = None
            if redrive:
                dlq = redrive.get("deadLetterTargetArn")
                target = dlq["Fn::GetAtt"][0] if isinstance(dlq, dict) and "Fn::GetAtt" in dlq else None
            if target and target not in physical:
                continue
            _create_queue(sqs, stack, physical, lid, props)
            del pending[lid]


def _create_queue(sqs: Any, stack: Stack, physical: Physical, lid: str, props: dict[str, Any]) -> None:
    fifo = bool(props.get("FifoQueue"))
    name = f"storeloop-local-{lid}" + (".fifo" if fifo else "")
    attrs: dict[str, str] = {}
    if fifo:
        attrs["FifoQueue"] = "true"
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
        if key in props:
            attrs[key] = str(props[key])
    if props.get("RedrivePolicy"):
        rp = Resolver(stack, REGION, physical).resolve(props["RedrivePolicy"])
        attrs["RedrivePolicy"] = json.dumps(rp)
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    physical[lid] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


def create_state_machines(sfn: Any, stack: Stack, resolver: Resolver, physical: Physical) -> None:
    for lid, res in stack.resources("AWS::Serverless::StateMachine").items():
        props = res["Properties"]
        definition = (stack.template_path.parent / props["DefinitionUri"]).read_text()
        subs = resolver.resolve(props.get("DefinitionSubstitutions") or {})
        for key, value in subs.items():
            definition = definition.replace("${" + key + "}", str(value))
        name = f"storeloop-local-{lid}"
        arn = sfn.create_state_machine(name=name, definition=definition,
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/local")["stateMachineArn"]
        physical[lid] = {"Ref": arn, "Arn": arn, "Name": name}


def create_tables(ddb: Any, stack: Stack, physical: Physical) -> None:
    """The tables anew in the engine (leftovers of a stack of this process that did not stop cleanly go first)."""
    tables = stack.resources("AWS::DynamoDB::Table")
    existing = set(ddb.list_tables(Limit=100)["TableNames"])
    for lid in tables:
        if table_name(lid) in existing:
            ddb.delete_table(TableName=table_name(lid))
    for lid, res in tables.items():
        _create_table(ddb, physical, lid, res["Properties"])


def _create_table(ddb: Any, physical: Physical, lid: str, props: dict[str, Any]) -> None:
    name = table_name(lid)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    created = ddb.create_table(**kwargs)["TableDescription"]
    if created.get("LatestStreamArn"):
        physical[lid]["StreamArn"] = created["LatestStreamArn"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def delete_tables(ddb: Any, stack: Stack, physical: Physical) -> None:
    """Free the engine's memory: the next stack in this process makes its tables anew."""
    for lid in stack.resources("AWS::DynamoDB::Table"):
        name = physical.get(lid, {}).get("Ref")
        if name:
            try:
                ddb.delete_table(TableName=name)
            except Exception:  # noqa: BLE001 - best effort at teardown
                log.debug("could not delete %s", name)


def stop_executions(sfn: Any, stack: Stack, physical: Physical) -> None:
    """Abort flows still waiting (a published campaign waits for days), so none wakes in the next stack."""
    for lid in stack.resources("AWS::Serverless::StateMachine"):
        arn = physical.get(lid, {}).get("Ref")
        if not arn:
            continue
        try:
            running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
        except Exception:  # noqa: BLE001 - best effort at teardown
            continue
        for execution in running:
            try:
                sfn.stop_execution(executionArn=execution["executionArn"])
            except Exception:  # noqa: BLE001 - best effort at teardown
                log.debug("could not stop %s", execution["executionArn"])
