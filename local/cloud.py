"""The local cloud's AWS half: `LocalCloud`, one stack of every resource template.yaml declares, the handlers wired in.

DynamoDB is AWS's DynamoDB Local (`local.dynamodb_local`, one engine per process); moto, in-process, serves what
DynamoDB Local does not: Step Functions, SQS, Scheduler, Secrets Manager. `start()` opens a fresh moto account,
names and makes the resources (`local.resources`), sets the functions' environment as the template gives it with
local values for secrets and WeChat (`local.environment`), and imports every handler (`local.handlers`). Lambda
invocations from Step Functions come back to the in-process handlers through a patch of moto (`local.patches`);
SQS and stream event sources are delivered as Lambda's pollers do (`local.event_sources`, `local.streams`), and
schedules run on demand here or on their cron with `local.scheduler`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local import environment, event_sources, patches, resources
from local.clients import REGION, client
from local.dynamodb_local import DynamoDBLocal, shared_engine
from local.environment import ADMIN_OPENID, LOCAL_SECRETS
from local.handlers import LambdaContext, load_handlers, module_key
from local.scheduler import scheduled_event
from local.stack import ROOT, Resolver, Stack, load_stack
from local.streams import StreamSource

__all__ = ["ADMIN_OPENID", "LOCAL_SECRETS", "REGION", "LocalCloud"]  # what tests, the bench and local/ import from here

log = logging.getLogger("local")

SHARED = ROOT / "shared"


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
        self.sqs_sources: list[event_sources.QueueSource] = []  # (queue url, function, batch size)
        self.stream_sources: list[StreamSource] = []
        self._stream_lock = threading.Lock()
        self.schedules: event_sources.Schedules = {}  # name -> (function, event props)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalCloud:
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
        patches.install()
        # One process runs every request of a race against a local JVM on a shared 2-core machine: connects may
        # queue for seconds there, unlike a Lambda environment's one request at a time (models keep 2 s in AWS).
        from storeloop.data.models import Entity

        Entity.Meta.connect_timeout_seconds = 10
        Entity.Meta.read_timeout_seconds = 30
        patches.activate(self)
        self._create_resources()
        self.environment = environment.merged_environment(
            self.stack, self.resolver, wechat_base=self.wechat_base, api_base=self.api_base,
            dynamodb_endpoint=self.engine.endpoint if self.engine else "", overrides=self.overrides)
        environment.apply(self.environment, self._saved_env)
        environment.reset_settings(SHARED)
        self.handlers = load_handlers(self.stack)
        from local.provisioned_fake import install

        self.provisioned = install()  # Lambda's provisioned-concurrency API (the warm flow), faked
        from local.apigateway_fake import install as install_flush

        self.flushes = install_flush(self)  # API Gateway's FlushStageAuthorizersCache, on this stack's cache
        # Tables last: a JVM launched with the stack has been starting meanwhile.
        self.engine.wait_ready()
        resources.create_tables(client("dynamodb", self.engine.endpoint), self.stack, self.physical)
        return self

    def _create_resources(self) -> None:
        resources.name_resources(self.stack, self.physical)
        resources.create_queues(client("sqs"), self.stack, self.physical)
        self.resolver = Resolver(self.stack, REGION, self.physical)
        resources.create_state_machines(client("stepfunctions"), self.stack, self.resolver, self.physical)
        self.sqs_sources, self.stream_sources, self.schedules = event_sources.find(self.stack, self.resolver)

    def stop(self) -> None:
        self._stop.set()
        for t in self._pollers:
            t.join(timeout=5)
        if self._mock is not None:
            resources.stop_executions(client("stepfunctions"), self.stack, self.physical)
        if self.engine is not None:
            resources.delete_tables(client("dynamodb", self.engine.endpoint), self.stack, self.physical)
        patches.deactivate(self)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        environment.restore(self._saved_env)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ functions
    def module_of(self, logical_id: str) -> Any:
        import sys

        return sys.modules[module_key(self.stack.functions[logical_id])]

    def invoke(self, logical_id: str, event: dict, context: Any = None) -> Any:
        fn = self.stack.functions[logical_id]
        return self.handlers[logical_id](event, context or LambdaContext(logical_id, fn.timeout))

    def ref(self, logical_id: str, attr: str = "Ref") -> str:
        return self.physical[logical_id][attr]

    def physical_arn_of_queue(self, url: str) -> str:
        for names in self.physical.values():
            if names.get("Ref") == url:
                return names["Arn"]
        return ""

    # ------------------------------------------------------------------ event sources
    def drain_queues(self, max_rounds: int = 50) -> int:
        """Deliver every waiting SQS message to its function now, as Lambda's poller would. Returns batches run."""
        sqs = client("sqs")
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
        return event_sources.poll_queue(sqs, url, self.physical_arn_of_queue(url), lid, batch, self.invoke, wait)

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

    def _stream_once(self, source: StreamSource) -> int:
        assert self.engine is not None
        timeout = self.stack.functions[source.function].timeout
        with self._stream_lock:  # one reader per shard: Lambda keeps a shard's records in order
            return event_sources.poll_stream(self.engine.endpoint, source, self.physical, timeout, self.invoke)

    def start_pollers(self, interval: float = 0.2) -> None:
        """Background delivery for `make run`: each SQS source polled continuously, and the streams."""
        import boto3

        def sqs_loop(url: str, lid: str, batch: int) -> None:
            sqs = boto3.client("sqs", region_name=REGION)
            event_sources.keep_polling(lambda: self._poll_once(sqs, url, lid, batch, wait=0), self._stop, interval,
                                       f"poller for {lid}")

        for url, lid, batch in self.sqs_sources:
            t = threading.Thread(target=sqs_loop, args=(url, lid, batch), daemon=True, name=f"sqs-{lid}")
            t.start()
            self._pollers.append(t)
        if self.stream_sources:
            t = threading.Thread(target=event_sources.keep_polling, daemon=True, name="streams",
                                 args=(lambda: self.drain_streams(max_rounds=1), self._stop, interval,
                                       "stream poller"))
            t.start()
            self._pollers.append(t)

    def run_schedule(self, name: str) -> Any:
        """Run a scheduled function now, with the event EventBridge Scheduler would send."""
        if name not in self.schedules:
            raise KeyError(name)
        lid, props = self.schedules[name]
        return self.invoke(lid, scheduled_event(name, props))
