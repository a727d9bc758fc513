"""AWS control-plane calls of the services (Step Functions, Lambda, API Gateway); botocore errors are handled here."""

from __future__ import annotations

import json
from typing import Any

from storeloop.data.connection import aws_client


def error_code(exc: BaseException) -> str:
    """The AWS error code of a failed call (`ExecutionDoesNotExist`...), or the exception's type name."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def _code(exc: Exception) -> str | None:
    from botocore.exceptions import ClientError

    return exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None


def start_execution(state_machine_arn: str, name: str, payload: dict[str, Any], *,
                    exists_ok: bool = False) -> str | None:
    """StartExecution named `name` with `payload` as its input; its ARN. With `exists_ok`, None when an execution of
    that name has already run (ExecutionAlreadyExists: a repeat of a start that happened)."""
    try:
        return str(aws_client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))["executionArn"])
    except Exception as exc:
        if exists_ok and _code(exc) == "ExecutionAlreadyExists":
            return None
        raise


def stop_execution(execution_arn: str, error: str, cause: str) -> None:
    aws_client("stepfunctions").stop_execution(executionArn=execution_arn, error=error, cause=cause)


def set_provisioned_concurrency(function: str, alias: str, environments: int) -> None:
    """`environments` provisioned on the function's alias; 0 removes the configuration (none there: fine)."""
    client = aws_client("lambda")
    if environments > 0:
        client.put_provisioned_concurrency_config(FunctionName=function, Qualifier=alias,
                                                  ProvisionedConcurrentExecutions=environments)
        return
    try:
        client.delete_provisioned_concurrency_config(FunctionName=function, Qualifier=alias)
    except Exception as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise


def flush_authorizer_cache(api_id: str, stage_name: str) -> None:
    aws_client("apigateway").flush_stage_authorizers_cache(restApiId=api_id, stageName=stage_name)
