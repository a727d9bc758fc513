"""The local cloud's AWS half: every resource template.yaml declares, and the handlers wired in.

DynamoDB is AWS's DynamoDB Local (`local.dynamodb_local`, one engine per process); moto, in-process, serves what
DynamoDB Local does not: Step Functions, SQS, Scheduler, Secrets Manager. One `LocalCloud` is one stack: `start()`
opens a fresh moto account, (re)creates the tables, indexes and streams in the engine, the queues and state
machines in moto, sets the functions' environment as the template gives it (secrets and WeChat URLs replaced by
local values), and imports every handler. Lambda invocations from Step Functions come back to the in-process
handlers through a patch of moto's Lambda backend; SQS event sources are polled here, and stream event sources
read the engine's Streams API as Lambda does (`local.streams`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local import streams as stream_sources
from local.dynamodb_local import DynamoDBLocal, shared_engine
from local.stack import ACCOUNT, ROOT, Resolver, Stack, load_stack

log = logging.getLogger("local")

REGION = "ap-east-1"
SHARED = ROOT / "shared"

# What the local cloud puts where AWS would use Secrets Manager: fixed test values, never deployed.
LOCAL_SECRETS = {
    "TOKEN_SIGNING_KEY": "local-only-token-signing-key-0123456789abcdef",
    "DATA_KEY": "local-only-data-key-0123456789abcdef0123456789",
    "WECHAT_APP_SECRET": "local-app-secret",
}
ADMIN_OPENID = "o_local_admin_openid_000000001"

_patched = False
_active: LocalCloud | None = None


def _patch_moto() -> None:
    """Make moto behave like the services where the tests depend on it (DynamoDB is not moto's: see engine()).

    - Lambda: route Invoke (from Step Functions tasks) to the in-process handler of the active stack.
    """
    global _patched
    if _patched:
        return
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
    _per_thread_resolvers()
    _utc_wait_timestamps()
    _patched = True


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
        return self._local.__dict__.setdefault(id(obj), {})

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


_clients: dict[tuple[str, str | None], Any] = {}
_ENGINE_SERVICES = ("dynamodb", "dynamodbstreams")


def _client(service: str, endpoint: str | None = None) -> Any:
    """The local cloud's own AWS clients, made once per process and endpoint (botocore clients are thread-safe).
    DynamoDB and its streams go to the engine (`endpoint`); the rest to moto."""
    key = (service, endpoint if service in _ENGINE_SERVICES else None)
    if key not in _clients:
        import boto3

        _clients[key] = boto3.client(service, region_name=REGION, endpoint_url=key[1])
    return _clients[key]


def _jsonable(value: Any) -> Any:
    """Stream records as Lambda sends them: JSON types only (boto3 gives datetimes and bytes)."""
    import datetime as dt

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    if type(value).__name__ == "Decimal":
        return str(value)
    return value


class LambdaContext:
    def __init__(self, name: str, timeout_s: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalCloud:
    def __init__(self, template: str | Path = ROOT / "template.yaml", *, wechat_base: str = "http://127.0.0.1:3001",
                 api_base: str = "http://127.0.0.1:3000", overrides: dict[str, str] | None = None,
                 engine: DynamoDBLocal | None = None) -> None:
        self.stack: Stack = load_stack(template)
        self.engine = engine  # None: this process's shared engine, started on first use
        # API Gateway's authorizer cache (token -> (monotonic expiry, the authorizer's answer)), shared by every
        # gateway in front of this stack; FlushStageAuthorizersCache empties it (local/apigateway_fake.py).
        self.authorizer_cache: dict[str, tuple[float, dict]] = {}
        self.authorizer_invocations = 0
        self.wechat_base = wechat_base
        self.api_base = api_base
        self.overrides = dict(overrides or {})
        self.handlers: dict[str, Callable[[dict, Any], Any]] = {}
        self.physical: dict[str, dict[str, str]] = {}
        self.environment: dict[str, str] = {}
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._pollers: list[threading.Thread] = []
        self._stop = threading.Event()
        self.sqs_sources: list[tuple[str, str, int]] = []  # (queue url, function, batch size)
        self.stream_sources: list[stream_sources.StreamSource] = []
        self._stream_lock = threading.Lock()
        self.schedules: dict[str, tuple[str, dict[str, Any]]] = {}  # name -> (function, event props)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalCloud:
        global _active
        from moto import mock_aws

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.environ["AWS_REGION"] = REGION
        os.environ.pop("AWS_PROFILE", None)
        self.engine = self.engine or shared_engine()
        # Every DynamoDB client made from now on (the handlers', pynamodb's, a test's boto3.client("dynamodb"))
        # talks to the engine; moto passes loopback requests through.
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.engine.endpoint
        os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = self.engine.endpoint
        # Keep boto3's default session across stacks: re-reading botocore's service models per stack costs
        # ~0.15 s, and a test suite starts hundreds of stacks. Clients made earlier stay mocked.
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                                      "lambda": {"use_docker": False},
                                      "core": {"reset_boto3_session": False}})
        self._mock.start()
        _patch_moto()
        # One process runs every request of a race against a local JVM on a shared 2-core machine: connects may
        # queue for seconds there, unlike a Lambda environment's one request at a time (models keep 2 s in AWS).
        from storeloop.data.models import Entity

        Entity.Meta.connect_timeout_seconds = 10
        Entity.Meta.read_timeout_seconds = 30
        _active = self
        self._create_resources()
        self._set_environment()
        self._load_handlers()
        from local.provisioned_fake import install

        self.provisioned = install()  # Lambda's provisioned-concurrency API (the warm flow), faked
        from local.apigateway_fake import install as install_flush

        self.flushes = install_flush(self)  # API Gateway's FlushStageAuthorizersCache, on this stack's cache
        self._create_tables()  # last: a JVM launched with the stack has been starting meanwhile
        return self

    def stop(self) -> None:
        global _active
        self._stop.set()
        for t in self._pollers:
            t.join(timeout=5)
        self._stop_executions()
        self._delete_tables()
        if _active is self:
            _active = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def _stop_executions(self) -> None:
        """Abort flows still waiting (a published campaign waits for days), so none wakes in the next stack."""
        if self._mock is None:
            return
        sfn = _client("stepfunctions")
        for lid in self.stack.resources("AWS::Serverless::StateMachine"):
            arn = self.physical.get(lid, {}).get("Ref")
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

    def _delete_tables(self) -> None:
        """Free the engine's memory: the next stack in this process makes its tables anew."""
        if self.engine is None:
            return
        ddb = _client("dynamodb", self.engine.endpoint)
        for lid in self.stack.resources("AWS::DynamoDB::Table"):
            name = self.physical.get(lid, {}).get("Ref")
            if name:
                try:
                    ddb.delete_table(TableName=name)
                except Exception:  # noqa: BLE001 - best effort at teardown
                    log.debug("could not delete %s", name)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ resources
    def _create_resources(self) -> None:
        sqs, sfn = _client("sqs"), _client("stepfunctions")
        secrets = self.stack.resources("AWS::SecretsManager::Secret")
        for lid in secrets:
            arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{lid}-local"
            self.physical[lid] = {"Ref": arn, "Arn": arn}
        for lid in self.stack.functions:
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{lid}"
            self.physical[lid] = {"Ref": lid, "Arn": arn}
        for lid in self.stack.resources("AWS::Serverless::Api"):
            self.physical[lid] = {"Ref": "local", "RootResourceId": "root"}
        for lid in self.stack.resources("AWS::Serverless::LayerVersion"):
            self.physical[lid] = {"Ref": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{lid}:1"}
        for lid in self.stack.resources("AWS::DynamoDB::Table"):  # names now, the tables in _create_tables
            name = self._table_name(lid)
            self.physical[lid] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
        # Queues: dead-letter queues first, so a redrive policy can name them.
        queues = self.stack.resources("AWS::SQS::Queue")
        pending = dict(queues)
        while pending:
            for lid, res in list(pending.items()):
                props = res.get("Properties") or {}
                redrive = props.get("RedrivePolicy")
                target = None
                if redrive:
                    dlq = redrive.get("deadLetterTargetArn")
                    target = dlq["Fn::GetAtt"][0] if isinstance(dlq, dict) and "Fn::GetAtt" in dlq else None
                if target and target not in self.physical:
                    continue
                self._create_queue(sqs, lid, props)
                del pending[lid]
        self.resolver = Resolver(self.stack, REGION, self.physical)
        for lid, res in self.stack.resources("AWS::Serverless::StateMachine").items():
            self._create_state_machine(sfn, lid, res["Properties"])
        for lid, fn in self.stack.functions.items():
            for name, ev in fn.events.items():
                props = ev.get("Properties") or {}
                if ev.get("Type") == "SQS":
                    url = self.resolver.resolve({"Ref": props["Queue"]["Fn::GetAtt"][0]})
                    self.sqs_sources.append((url, lid, int(props.get("BatchSize", 10))))
                elif ev.get("Type") == "DynamoDB":
                    table = props["Stream"]["Fn::GetAtt"][0]
                    self.stream_sources.append(stream_sources.StreamSource.from_event(table, lid, props))
                elif ev.get("Type") in ("Schedule", "ScheduleV2"):
                    props = self.resolver.resolve(props)  # names and inputs may use !Sub / !Ref
                    self.schedules[props.get("Name") or f"{lid}-{name}"] = (lid, props)

    @staticmethod
    def _table_name(lid: str) -> str:
        # One stack at a time per process and one engine per process: fixed names keep the warm clients warm.
        return f"storeloop-local-{lid}"

    def _create_tables(self) -> None:
        assert self.engine is not None
        self.engine.wait_ready()
        ddb = _client("dynamodb", self.engine.endpoint)
        tables = self.stack.resources("AWS::DynamoDB::Table")
        existing = set(ddb.list_tables(Limit=100)["TableNames"])
        for lid in tables:  # a stack of this process that did not stop cleanly
            if self._table_name(lid) in existing:
                ddb.delete_table(TableName=self._table_name(lid))
        for lid, res in tables.items():
            self._create_table(ddb, lid, res["Properties"])

    def _create_table(self, ddb: Any, lid: str, props: dict[str, Any]) -> None:
        name = self._table_name(lid)
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
            self.physical[lid]["StreamArn"] = created["LatestStreamArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    def _create_queue(self, sqs: Any, lid: str, props: dict[str, Any]) -> None:
        fifo = bool(props.get("FifoQueue"))
        name = f"storeloop-local-{lid}" + (".fifo" if fifo else "")
        attrs: dict[str, str] = {}
        if fifo:
            attrs["FifoQueue"] = "true"
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attrs[key] = str(props[key])
        if props.get("RedrivePolicy"):
            rp = Resolver(self.stack, REGION, self.physical).resolve(props["RedrivePolicy"])
            attrs["RedrivePolicy"] = json.dumps(rp)
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.physical[lid] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _create_state_machine(self, sfn: Any, lid: str, props: dict[str, Any]) -> None:
        definition = (self.stack.template_path.parent / props["DefinitionUri"]).read_text()
        subs = self.resolver.resolve(props.get("DefinitionSubstitutions") or {})
        for key, value in subs.items():
            definition = definition.replace("${" + key + "}", str(value))
        name = f"storeloop-local-{lid}"
        arn = sfn.create_state_machine(name=name, definition=definition,
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/local")["stateMachineArn"]
        self.physical[lid] = {"Ref": arn, "Arn": arn, "Name": name}

    # ------------------------------------------------------------------ environment and handlers
    def _set_environment(self) -> None:
        """One process runs every handler, so their environments must agree; local values replace secrets."""
        merged: dict[str, str] = {}
        for fn in self.stack.functions.values():
            for key, raw in fn.environment.items():
                value = str(self.resolver.resolve(raw))
                if key in merged and merged[key] != value and key != "SECRET_ARNS":
                    raise ValueError(f"functions disagree on {key}: the local cloud runs them in one process")
                merged[key] = value
        from local.pay_env import local_pay_env

        merged.update({
            "SECRET_ARNS": "",
            **LOCAL_SECRETS,
            **local_pay_env(),  # the test merchant of local/keys: the local API trusts exactly the Pay fake
            "STAGE": "local",
            "WECHAT_API_BASE": self.wechat_base,
            "PAY_BASE_URL": self.wechat_base,
            "PAY_NOTIFY_URL": f"{self.api_base}/webhooks/wechatpay",
            "ADMIN_OPENIDS": ADMIN_OPENID,
            "DYNAMODB_ENDPOINT": self.engine.endpoint if self.engine else "",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        })
        merged.update(self.overrides)
        for key, value in merged.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        self.environment = merged
        if str(SHARED) not in sys.path:
            sys.path.insert(0, str(SHARED))
        from storeloop import runtime

        runtime.reset_if_changed()

    def _load_handlers(self) -> None:
        for lid, fn in self.stack.functions.items():
            module_name, attr = fn.handler.rsplit(".", 1)
            key = f"storeloop_fn_{fn.code_uri.name}_{module_name}"
            module = sys.modules.get(key)
            if module is None:
                spec = importlib.util.spec_from_file_location(key, fn.code_uri / f"{module_name}.py")
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {fn.code_uri}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[key] = module
                spec.loader.exec_module(module)
            self.handlers[lid] = getattr(module, attr)

    def module_of(self, logical_id: str) -> Any:
        fn = self.stack.functions[logical_id]
        return sys.modules[f"storeloop_fn_{fn.code_uri.name}_{fn.handler.rsplit('.', 1)[0]}"]

    def invoke(self, logical_id: str, event: dict, context: Any = None) -> Any:
        fn = self.stack.functions[logical_id]
        return self.handlers[logical_id](event, context or LambdaContext(logical_id, fn.timeout))

    def ref(self, logical_id: str, attr: str = "Ref") -> str:
        return self.physical[logical_id][attr]

    # ------------------------------------------------------------------ event sources
    def drain_queues(self, max_rounds: int = 50) -> int:
        """Deliver every waiting SQS message to its function now, as Lambda's poller would. Returns batches run."""
        sqs = _client("sqs")
        runs = 0
        for _ in range(max_rounds):
            delivered = 0
            for url, lid, batch in self.sqs_sources:
                delivered += self._poll_once(sqs, url, lid, batch, wait=0)
            runs += delivered
            if not delivered:
                break
        return runs

    def _poll_once(self, sqs: Any, url: str, lid: str, batch: int, wait: int) -> int:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch, 10), WaitTimeSeconds=wait,
                                  AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = got.get("Messages") or []
        if not messages:
            return 0
        arn = self.physical_arn_of_queue(url)
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody"), "eventSource": "aws:sqs", "eventSourceARN": arn,
            "awsRegion": REGION} for m in messages]}
        failed: set[str] = set()
        try:
            result = self.invoke(lid, event)
            for item in (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []:
                failed.add(item["itemIdentifier"])
        except Exception:  # noqa: BLE001 - the whole batch returns to the queue, as with Lambda
            log.exception("SQS batch failed in %s", lid)
            failed = {m["MessageId"] for m in messages}
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return 1

    def redeliver_streams(self, function: str | None = None) -> None:
        """Forget how far the stream sources (of `function`, or all) have read: the next drain delivers every
        record again from the trim horizon, as Lambda does after a lost checkpoint (tests of exactly-once)."""
        for source in self.stream_sources:
            if function is None or source.function == function:
                source.checkpoints.clear()
                source.attempts = 0

    def drain_streams(self, max_rounds: int = 50) -> int:
        """Deliver every new DynamoDB stream record to its function now, in order, as Lambda's poller would."""
        runs = 0
        for _ in range(max_rounds):
            delivered = sum(self._stream_once(source) for source in self.stream_sources)
            runs += delivered
            if not delivered:
                break
        return runs

    def _stream_once(self, source: stream_sources.StreamSource) -> int:
        assert self.engine is not None
        arn = self.physical[source.table]["StreamArn"]
        fn = self.stack.functions[source.function]

        def shape(record: dict[str, Any]) -> dict[str, Any]:  # the Lambda event's record
            return {**_jsonable(record), "awsRegion": REGION, "eventSourceARN": arn}

        def invoke(records: list[dict[str, Any]]) -> Any:
            return self.invoke(source.function, {"Records": records}, LambdaContext(source.function, fn.timeout))

        def discard(src: stream_sources.StreamSource, shard: str, batch: list[dict[str, Any]], error: str) -> None:
            keys = [r["dynamodb"].get("Keys") for r in batch]
            log.error("stream records skipped after %d retries in %s: %s", src.max_retries, src.function, keys)
            if src.on_failure and src.on_failure in self.physical:
                body = stream_sources.failure_record(src, arn, shard, batch, error,
                                                     self.physical[src.function]["Arn"])
                _client("sqs").send_message(QueueUrl=self.physical[src.on_failure]["Ref"], MessageBody=json.dumps(body))

        with self._stream_lock:  # one reader per shard: Lambda keeps a shard's records in order
            return stream_sources.poll_once(_client("dynamodbstreams", self.engine.endpoint), arn, source, shape,
                                            invoke, discard)

    def physical_arn_of_queue(self, url: str) -> str:
        for names in self.physical.values():
            if names.get("Ref") == url:
                return names["Arn"]
        return ""

    def start_pollers(self, interval: float = 0.2) -> None:
        """Background delivery for `make run`: each SQS source polled continuously."""
        import boto3

        def loop(url: str, lid: str, batch: int) -> None:
            sqs = boto3.client("sqs", region_name=REGION)
            while not self._stop.is_set():
                try:
                    if not self._poll_once(sqs, url, lid, batch, wait=0):
                        self._stop.wait(interval)
                except Exception:  # noqa: BLE001 - keep polling, as Lambda does
                    log.exception("poller for %s", lid)
                    self._stop.wait(1)

        for url, lid, batch in self.sqs_sources:
            t = threading.Thread(target=loop, args=(url, lid, batch), daemon=True, name=f"sqs-{lid}")
            t.start()
            self._pollers.append(t)

        def stream_loop() -> None:
            while not self._stop.is_set():
                try:
                    if not self.drain_streams(max_rounds=1):
                        self._stop.wait(interval)
                except Exception:  # noqa: BLE001 - keep polling, as Lambda does
                    log.exception("stream poller")
                    self._stop.wait(1)

        if self.stream_sources:
            t = threading.Thread(target=stream_loop, daemon=True, name="streams")
            t.start()
            self._pollers.append(t)

    def run_schedule(self, name: str) -> Any:
        """Run a scheduled function now, with the event EventBridge Scheduler would send."""
        if name not in self.schedules:
            raise KeyError(name)
        lid, props = self.schedules[name]
        event = props.get("Input")
        payload = json.loads(event) if isinstance(event, str) else (event or {})
        return self.invoke(lid, {"source": "aws.scheduler", "detail-type": "Scheduled Event", "schedule": name,
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **payload})
