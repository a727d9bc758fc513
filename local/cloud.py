"""The local cloud's AWS half: moto in-process, every resource template.yaml declares, and the handlers wired in.

One `LocalCloud` is one stack: `start()` opens a fresh moto account, creates the tables (and queues, state
machines) from the template, sets the functions' environment as the template gives it (secrets and WeChat
URLs replaced by local values), and imports every handler. Lambda invocations from Step Functions come back
to the in-process handlers through a patch of moto's Lambda backend; SQS event sources are polled here.
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

_db_lock = threading.RLock()
_patched = False
_active: LocalCloud | None = None


def _patch_moto() -> None:
    """Make moto behave like the services where the tests depend on it.

    - DynamoDB: moto is not thread-safe (a transaction deep-copies a table while another thread writes it:
      "dictionary changed size during iteration"); DynamoDB applies each request atomically, so serialise.
    - Lambda: route Invoke (from Step Functions tasks) to the in-process handler of the active stack.
    """
    global _patched
    if _patched:
        return
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.responses import DynamoHandler

    original_call = DynamoHandler.call_action

    def locked_call(self: Any) -> Any:
        with _db_lock:
            return original_call(self)

    DynamoHandler.call_action = locked_call  # type: ignore[method-assign]
    _cheap_transaction_snapshots()

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


def _cheap_transaction_snapshots() -> None:
    """moto backs up a whole table with copy.deepcopy once per item of every transaction, so a transaction's
    cost grew with the table (≈ 40 ms at 130 items). Snapshot the table once per transaction, by pickling
    its items (several times faster than deepcopy); the rollback semantics stay moto's."""
    import pickle
    from collections import defaultdict

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    snapshots: dict[int, Any] = {}

    def snapshot(self: Any, memo: dict) -> Any:
        if id(self) in snapshots:
            return snapshots[id(self)]
        clone = Table.__new__(Table)
        clone.__dict__.update(self.__dict__)
        clone.items = defaultdict(dict, pickle.loads(pickle.dumps(dict(self.items))))
        if self.stream_shard is not None:
            shard = type(self.stream_shard).__new__(type(self.stream_shard))
            shard.__dict__.update(self.stream_shard.__dict__)
            shard.items = list(self.stream_shard.items)
            shard.table = clone
            clone.stream_shard = shard
        snapshots[id(self)] = clone
        return clone

    Table.__deepcopy__ = snapshot  # type: ignore[attr-defined]
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        with _db_lock:
            snapshots.clear()
            try:
                return original(self, transact_items)
            finally:
                snapshots.clear()

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


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


_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """The local cloud's own AWS clients, made once per process (botocore clients are thread-safe)."""
    if service not in _clients:
        import boto3

        _clients[service] = boto3.client(service, region_name=REGION)
    return _clients[service]


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
                 api_base: str = "http://127.0.0.1:3000", overrides: dict[str, str] | None = None) -> None:
        self.stack: Stack = load_stack(template)
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
        self.stream_sources: list[tuple[str, str, int]] = []  # (table logical id, function, batch size)
        self._stream_positions: dict[str, int] = {}  # function -> records delivered
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
        # Keep boto3's default session across stacks: re-reading botocore's service models per stack costs
        # ~0.15 s, and a test suite starts hundreds of stacks. Clients made earlier stay mocked.
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                                      "lambda": {"use_docker": False},
                                      "core": {"reset_boto3_session": False}})
        self._mock.start()
        _patch_moto()
        _active = self
        self._create_resources()
        self._set_environment()
        self._load_handlers()
        from local.provisioned_fake import install

        self.provisioned = install()  # Lambda's provisioned-concurrency API (the warm flow), faked
        return self

    def stop(self) -> None:
        global _active
        self._stop.set()
        for t in self._pollers:
            t.join(timeout=5)
        self._stop_executions()
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

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ resources
    def _create_resources(self) -> None:
        ddb, sqs, sfn = _client("dynamodb"), _client("sqs"), _client("stepfunctions")
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
        for lid, res in self.stack.resources("AWS::DynamoDB::Table").items():
            self._create_table(ddb, lid, res["Properties"])
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
                    self.stream_sources.append((table, lid, int(props.get("BatchSize", 100))))
                elif ev.get("Type") in ("Schedule", "ScheduleV2"):
                    props = self.resolver.resolve(props)  # names and inputs may use !Sub / !Ref
                    self.schedules[props.get("Name") or f"{lid}-{name}"] = (lid, props)

    def _create_table(self, ddb: Any, lid: str, props: dict[str, Any]) -> None:
        name = f"storeloop-local-{lid}"
        self.physical[lid] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
                              "StreamArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/local"}
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
        ddb.create_table(**kwargs)
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

    def drain_streams(self, max_rounds: int = 50) -> int:
        """Deliver every new DynamoDB stream record to its function now, in order, as Lambda's poller would."""
        runs = 0
        for _ in range(max_rounds):
            delivered = sum(self._stream_once(table, lid, batch) for table, lid, batch in self.stream_sources)
            runs += delivered
            if not delivered:
                break
        return runs

    def _stream_once(self, table_lid: str, lid: str, batch: int) -> int:
        # moto 5.2.5's DynamoDB Streams API answers "Not yet implemented" to DescribeStream under botocore 1.44,
        # so read the table's stream shard from moto's backend directly (records in the Lambda event shape).
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[ACCOUNT][REGION].get_table(self.physical[table_lid]["Ref"])
        shard = getattr(table, "stream_shard", None)
        if shard is None:
            return 0
        with self._stream_lock:  # one reader per shard: Lambda keeps a shard's records in order
            with _db_lock:
                start = self._stream_positions.get(lid, 0)
                records = [r.to_json() for r in shard.items[start:start + batch]]
            if not records:
                return 0
            arn = self.physical[table_lid]["StreamArn"]
            for r in records:
                r["eventSourceARN"] = arn
            result = self.invoke(lid, {"Records": _jsonable(records)})  # raises: the batch is delivered again
            failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
            done = len(records)
            if failures:  # ReportBatchItemFailures: resume at the first failed record, as Lambda does
                failed = {str(f.get("itemIdentifier")) for f in failures}
                done = next((i for i, r in enumerate(records) if str(r["dynamodb"]["SequenceNumber"]) in failed),
                            done)
            self._stream_positions[lid] = start + done
        return 1

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
