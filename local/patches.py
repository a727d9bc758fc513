"""Patches to moto and Powertools where the local cloud needs them to behave as AWS does: Lambda Invoke routed to
the running stack's in-process handlers, Wait states compared in UTC, and Powertools' current event per thread."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import Any

_patched = False
_active: Any = None  # the running stack (one per process): what moto's Lambda Invoke calls


def activate(stack: Any) -> None:
    """Route Lambda Invoke (from Step Functions tasks) to `stack.invoke(name, event)` from now on."""
    global _active
    _active = stack


def deactivate(stack: Any) -> None:
    global _active
    if _active is stack:
        _active = None


def install() -> None:
    """Patch once per process (moto's DynamoDB is not used: tables are DynamoDB Local's)."""
    global _patched
    if _patched:
        return
    _route_lambda_invoke()
    _per_thread_resolvers()
    _utc_wait_timestamps()
    _patched = True


def _route_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaBackend

    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
               response_headers: dict) -> bytes:
        if _active is None:
            raise RuntimeError("no local stack is running")
        name = function_name.split(":function:")[-1].split(":")[0]
        event = json.loads(body) if body else {}
        try:
            result = _active.invoke(name, event)
        except Exception as exc:  # noqa: BLE001 - reported to the caller as Lambda does
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                               "stackTrace": traceback.format_exc().splitlines()[-5:]}).encode()
        return json.dumps(result).encode()

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]
    # With use_docker off moto serves Lambda from LambdaSimpleBackend, whose own invoke echoes its input.
    from moto.awslambda_simple.models import LambdaSimpleBackend

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


def _utc_wait_timestamps() -> None:
    """moto compares a Wait state's Timestamp ('Z') with naive *local* time: off by the UTC offset on a machine
    whose TZ is not UTC (e.g. Asia/Shanghai). Compare in UTC, as Step Functions does."""
    import datetime as dt
    import math

    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

    def wait_seconds(self: Any, env: Any) -> int:
        self.string.eval(env=env)
        raw = env.stack.pop()
        at = self._from_timestamp_string(timestamp=raw)
        if at is None:
            raise FailureEventException(self._create_failure_event(env, raw))
        return math.ceil((at - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds())

    Timestamp._get_wait_seconds = wait_seconds  # type: ignore[method-assign]


class _PerThread:
    """A resolver attribute each thread sees on its own, as each Lambda execution environment would."""

    _local = threading.local()

    def __init__(self, name: str, default: Callable[[], Any]) -> None:
        self.name, self.default = name, default

    def _state(self, obj: Any) -> dict[str, Any]:
        states: dict[Any, dict[str, Any]] = self._local.__dict__
        return states.setdefault(id(obj), {})

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        return self._state(obj).setdefault(self.name, self.default())

    def __set__(self, obj: Any, value: Any) -> None:
        self._state(obj)[self.name] = value


def _per_thread_resolvers() -> None:
    """Powertools keeps the current event on the resolver *class* (one request per Lambda environment at a
    time); the local cloud runs requests on many threads in one process, so give each thread its own."""
    from aws_lambda_powertools.event_handler import api_gateway as agw

    cls = agw.ApiGatewayResolver
    cls.current_event = _PerThread("current_event", lambda: None)  # type: ignore[assignment]
    cls.lambda_context = _PerThread("lambda_context", lambda: None)  # type: ignore[assignment]
    cls.context = _PerThread("context", dict)  # type: ignore[assignment]
    original = cls.resolve

    def resolve(self: Any, event: Any, context: Any) -> Any:
        self.current_event, self.lambda_context = self._to_proxy_event(event), context
        return original(self, event, context)

    cls.resolve = resolve  # type: ignore[method-assign]
