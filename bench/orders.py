"""Order creation: the handler's warm time per order against the bare calls it makes, in one run.

What it measures, against one local cloud (tables in DynamoDB Local since issue 11, the WeChat Pay fake on loopback):
- handler: `CreateOrderFunction`'s Lambda handler invoked in-process with a REST proxy event carrying the
  authorizer's context (no HTTP in front, no authorizer), warm, with an Idempotency-Key as the mini-program sends;
- bare DynamoDB: right after each order, the very DynamoDB requests it made (captured from botocore as they were
  sent), replayed through a plain boto3 client with a fresh order id;
- bare all: those, plus the order's two other calls made bare: StartExecution through a plain boto3 client, and
  the WeChat prepay through the Pay client alone (its RSA signing and answer check are WeChat's protocol, not ours).
Handler and bare runs alternate, and each order's own items are deleted (untimed) before the next, so every run
meets the same small table (moto, before issue 11, copied the whole table in every transaction). Goal: handler
≤ 1.3× bare.

`PYTHONPATH=shared:. python -m bench.orders` (or `make bench`). BENCH_ORDERS sets the number of measured orders.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

ORDERS = int(os.environ.get("BENCH_ORDERS", "150"))
WARMUP = 10


def _swap(value: Any, old: str, new: str) -> Any:
    return json.loads(json.dumps(value).replace(old, new))


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _forget(ddb: Any, table: str, calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Delete what an order created (the order, its idempotency record), untimed; stock stays decremented."""
    for op, p in calls:
        if op == "TransactWriteItems":
            for entry in p["TransactItems"]:
                (kind, item), = entry.items()
                if kind == "Put":
                    ddb.delete_item(TableName=item["TableName"], Key={"PK": item["Item"]["PK"],
                                                                      "SK": item["Item"]["SK"]})
        elif op == "PutItem" and "id" in p["Item"] and p["TableName"] != table:
            ddb.delete_item(TableName=p["TableName"], Key={"id": p["Item"]["id"]})


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import boto3

    from bench.recording import RequestRecorder
    from local.apigw import ApiGateway
    from local.cloud import REGION, LocalCloud
    from local.merchant_keys import local_pay_env
    from local.testing import TestClient
    from local.wechat_fake import WeChatFake
    from storeloop.data.connection import dynamodb_client
    from storeloop.data.models import Entity
    from storeloop.services import payments
    from storeloop.settings import get_settings

    wechat = WeChatFake(port=0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url, overrides=local_pay_env()).start()
    try:
        gateway = ApiGateway(cloud)
        client = TestClient(gateway)
        admin = client.login("admin")["token"]
        client.post("/admin/stores", {"store_id": "bench", "name": "Bench", "city": "上海", "address": "1 Road",
                                      "lat": 31.23, "lng": 121.47}, token=admin)
        for sku in ("latte", "cookie"):
            client.post("/admin/products", {"sku": sku, "name": sku, "price_fen": 3200, "stock": {"bench": 10**6}},
                        token=admin)
        shopper = client.login("bench-shopper")
        member_id = shopper["member_id"]
        route, params, _ = gateway.match("POST", "/orders")
        assert route is not None
        body = json.dumps({"store_id": "bench", "items": [{"sku": "latte", "qty": 2}, {"sku": "cookie", "qty": 1}]})

        def event(key: str) -> dict[str, Any]:
            headers = [("Host", "127.0.0.1:3000"), ("Content-Type", "application/json"), ("Idempotency-Key", key)]
            ev = gateway.build_event(route, "POST", "/orders", "", headers, body.encode(), params, str(uuid.uuid4()),
                                     "127.0.0.1")
            ev["requestContext"]["authorizer"] = {"member_id": member_id, "roles": "member", "store_ids": "",
                                                  "staff_role": "", "principalId": member_id}
            return ev

        recorder = RequestRecorder()
        for botocore_client in (Entity._get_connection().connection.client, dynamodb_client()):
            botocore_client.meta.events.register("before-parameter-build.dynamodb", recorder)
        table = cloud.ref("MainTable")
        bare = boto3.client("dynamodb", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        settings = get_settings()
        pay = payments.client(settings)
        machine = settings.order_state_machine_arn

        handler_s: list[float] = []
        bare_ddb_s: list[float] = []
        bare_all_s: list[float] = []
        ops: list[str] = []
        for i in range(WARMUP + ORDERS):
            recorder.calls, recorder.on = [], True
            started = time.perf_counter()
            result = cloud.invoke(route.function, event(f"bench-{i:08d}"))
            elapsed = time.perf_counter() - started
            recorder.on = False
            if result["statusCode"] != 201:
                raise RuntimeError(f"order failed: {result}")
            order_id = json.loads(result["body"])["order"]["order_id"]
            calls = recorder.calls
            fresh = "ord_" + uuid.uuid4().hex[:24]
            replay = [(op, _swap(p, order_id, fresh)) for op, p in calls]
            for idem in {p["Item"]["id"]["S"] for op, p in calls if op == "PutItem" and "id" in p.get("Item", {})}:
                replay = [(op, _swap(p, idem, idem[:-32] + uuid.uuid4().hex)) for op, p in replay]
            started = time.perf_counter()
            for op, p in replay:
                getattr(bare, _snake(op))(**p)
            ddb_elapsed = time.perf_counter() - started
            started = time.perf_counter()
            sfn.start_execution(stateMachineArn=machine, name=fresh,
                                input=json.dumps({"order_id": fresh, "timeout_seconds": 900}))
            pay.payment_params(pay.jsapi_prepay(fresh, "latte 等3件", 7200, "o_bench",
                                                time_expire=_in_15_minutes()))
            other_elapsed = time.perf_counter() - started
            _forget(bare, table, calls)
            _forget(bare, table, replay)
            if i >= WARMUP:
                handler_s.append(elapsed)
                bare_ddb_s.append(ddb_elapsed)
                bare_all_s.append(ddb_elapsed + other_elapsed)
                ops = [op for op, _ in calls]

        h, d, a = (statistics.median(x) for x in (handler_s, bare_ddb_s, bare_all_s))
        print(f"orders measured: {ORDERS} (after {WARMUP} warm-up), 2 lines, with an Idempotency-Key")
        print(f"DynamoDB requests per order: {', '.join(ops)}; plus StartExecution and the WeChat prepay")
        print(f"handler warm, median per order        {h * 1000:8.2f} ms")
        print(f"bare DynamoDB requests, median         {d * 1000:8.2f} ms   ratio {h / d:5.2f}x")
        print(f"bare DynamoDB + StartExecution + prepay {a * 1000:7.2f} ms   ratio {h / a:5.2f}x   (goal <= 1.30x)")
        print(f"handler overhead over all its bare calls: {(h - a) * 1000:.2f} ms per order")
    finally:
        cloud.stop()
        wechat.stop()


def _in_15_minutes() -> Any:
    from storeloop.domain.clock import now

    return now() + timedelta(minutes=15)


if __name__ == "__main__":
    main()
