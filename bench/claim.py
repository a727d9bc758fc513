"""Claim: the handler's warm time per claim against the bare boto3 DynamoDB calls it makes, and write units per claim.

What it measures, in one run against one local cloud (tables in DynamoDB Local since issue 11; moto before):
- handler: `ClaimCouponFunction`'s Lambda handler invoked in-process with a REST proxy event carrying the
  authorizer's context (no HTTP, no authorizer), warm, with an Idempotency-Key as the mini-program sends;
- bare: right after each handler claim, the very DynamoDB requests that claim made (captured from botocore as it
  sent them), replayed through a plain boto3 client with fresh ids: what a hand-written handler doing exactly
  the same reads and writes would cost, with no resolver, validation, models or error mapping.
The two alternate, and what each claim created is deleted (untimed) before the next, so every measured claim
meets the same small table (under moto, before issue 11, a transaction copied the whole table, so its cost grew
with the table and would drown the difference being measured). Goal: handler ≤ 1.3× bare.
- write units per claim, from the written items' sizes by DynamoDB's sizing rules (moto's ConsumedCapacity is a
  constant, so it is not used), against the minimum the claim's invariants need.

`PYTHONPATH=shared:. python -m bench.claim` (or `make bench`). BENCH_CLAIMS sets the number of measured claims.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

CLAIMS = int(os.environ.get("BENCH_CLAIMS", "150"))
WARMUP = 10


def _item_size(item: dict[str, Any]) -> int:
    """Bytes of a DynamoDB item (low-level JSON) by the documented rules: names + values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in v.items())
    if kind == "B":
        return len(v)
    return len(json.dumps(v))


def _wcu(size: int, transactional: bool) -> int:
    return (2 if transactional else 1) * max(1, -(-size // 1024))


def _swap(value: Any, table: dict[str, str]) -> Any:
    text = json.dumps(value)
    for old, new in table.items():
        text = text.replace(old, new)
    return json.loads(text)


def main(sourced: bool = False) -> None:
    """`sourced` (issue 9, bench/claim_sourced.py): the claim names a source and its template has a daily limit, so
    the coupon carries the source and the transaction counts today's daily shard too."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    import boto3

    from bench.recording import RequestRecorder
    from local.apigw import ApiGateway
    from local.cloud import REGION, LocalCloud
    from local.testing import TestClient
    from local.wechat_fake import WeChatFake
    from storeloop.data.connection import dynamodb_client
    from storeloop.data.models import Entity
    from storeloop.domain import clock
    from storeloop.domain.clock import to_rfc3339
    from storeloop.domain.coupons import MAX_STOCK_SHARDS, PARTITION_WCU_PER_SECOND

    wechat = WeChatFake(port=0).start()
    cloud = LocalCloud(wechat_base=wechat.base_url).start()
    try:
        gateway = ApiGateway(cloud)
        client = TestClient(gateway)
        admin = client.login("admin")["token"]
        stock = 1_000_000  # a flash sale's template: the full 20 shards
        extra: dict[str, Any] = {"daily_limit": stock} if sourced else {}  # 20 daily shards, never reached here
        template_id = client.post("/admin/coupon-templates", {
            "name": "¥20 off", "kind": "cash_off", "amount_off_fen": 2000, "min_spend_fen": 10000,
            "total_stock": stock, "validity": {"type": "relative", "days": 7}, **extra},
            token=admin).json()["template_id"]
        start = clock.now() - timedelta(minutes=1)
        campaign_id = client.post("/admin/campaigns", {
            "name": "bench", "starts_at": to_rfc3339(start), "ends_at": to_rfc3339(start + timedelta(days=1)),
            "template_ids": [template_id]}, token=admin).json()["campaign_id"]
        client.post(f"/admin/campaigns/{campaign_id}/publish", token=admin)

        route, params, _ = gateway.match("POST", f"/campaigns/{campaign_id}/claims")
        assert route is not None
        claim_body: dict[str, Any] = {"template_id": template_id}
        if sourced:
            claim_body["source"] = {"channel": "store_qr", "store_id": "sh-jingan", "ref": "door-2026-11"}
        body = json.dumps(claim_body).encode()

        def event(member_id: str, key: str) -> dict[str, Any]:
            headers = [("Host", "127.0.0.1:3000"), ("Content-Type", "application/json"), ("Idempotency-Key", key)]
            ev = gateway.build_event(route, "POST", f"/campaigns/{campaign_id}/claims", "", headers, body, params,
                                     str(uuid.uuid4()), "127.0.0.1")
            ev["requestContext"]["authorizer"] = {"member_id": member_id, "roles": "member", "store_ids": "",
                                                  "staff_role": "", "principalId": member_id}
            return ev

        recorder = RequestRecorder()
        for botocore_client in (Entity._get_connection().connection.client, dynamodb_client()):
            botocore_client.meta.events.register("before-parameter-build.dynamodb", recorder)
        bare = boto3.client("dynamodb", region_name=REGION)

        handler_s: list[float] = []
        bare_s: list[float] = []
        ops_per_claim: list[list[str]] = []
        written: list[tuple[str, dict[str, Any]]] = []
        bare_by_op: dict[str, list[float]] = {}
        for i in range(WARMUP + CLAIMS):
            member_id = f"m_bench_{i:014d}"  # same length as the replay's ids: same item sizes
            key = f"bench-{i:010d}"
            recorder.calls, recorder.on = [], True
            started = time.perf_counter()
            result = cloud.invoke(route.function, event(member_id, key))
            elapsed = time.perf_counter() - started
            recorder.on = False
            if result["statusCode"] != 201:
                raise RuntimeError(f"claim failed: {result}")
            coupon = json.loads(result["body"])["coupon"]
            calls = recorder.calls
            idem_ids = [p["Item"]["id"]["S"] for op, p in calls if op == "PutItem" and "id" in p.get("Item", {})]
            swaps = {coupon["coupon_id"]: "c_" + secrets.token_hex(10),
                     coupon["code"]: f"{secrets.randbelow(10**12):012d}", member_id: f"m_bare__{i:014d}"}
            for idem in idem_ids:
                swaps[idem] = idem[: -32] + secrets.token_hex(16)
            replay = [(op, _swap(p, swaps)) for op, p in calls]
            per_op = []
            for op, p in replay:
                started = time.perf_counter()
                getattr(bare, _snake(op))(**p)
                per_op.append((op, time.perf_counter() - started))
            bare_elapsed = sum(seconds for _, seconds in per_op)
            if i < WARMUP + CLAIMS - 1:
                _forget_claim(bare, calls)
                _forget_claim(bare, replay)
            if i >= WARMUP:
                handler_s.append(elapsed)
                bare_s.append(bare_elapsed)
                ops_per_claim.append([op for op, _ in calls])
                written = calls
                for op, seconds in per_op:
                    bare_by_op.setdefault(op, []).append(seconds)

        h, b = statistics.median(handler_s), statistics.median(bare_s)
        ops = statistics.mode(tuple(o) for o in ops_per_claim)
        print(f"claims measured: {CLAIMS} (after {WARMUP} warm-up), template of {stock:,} units in "
              f"{MAX_STOCK_SHARDS} shards, with an Idempotency-Key"
              + (f"; with a source and a daily limit ({MAX_STOCK_SHARDS} daily shards)" if sourced else ""))
        print(f"DynamoDB requests per claim: {', '.join(ops)}")
        print(f"handler warm, median per claim   {h * 1000:8.2f} ms   (mean {statistics.fmean(handler_s) * 1000:.2f})")
        print(f"bare boto3 same requests, median {b * 1000:8.2f} ms   (mean {statistics.fmean(bare_s) * 1000:.2f})")
        print(f"ratio handler / bare             {h / b:8.2f}x   (goal <= 1.30x); handler overhead "
              f"{(h - b) * 1000:.2f} ms per claim")
        print("bare, median per request: " + ", ".join(
            f"{op} {statistics.median(v) * 1000:.2f} ms" for op, v in bare_by_op.items())
            + " (DynamoDB Local)")

        # Write units of the last claim, from what it wrote.
        ddb = dynamodb_client()
        table = cloud.ref("MainTable")
        rows: list[tuple[str, int, int]] = []
        tx = next(p for op, p in written if op == "TransactWriteItems")
        for entry in tx["TransactItems"]:
            (kind, op), = entry.items()
            key = op.get("Key") or {"PK": op["Item"]["PK"], "SK": op["Item"]["SK"]}
            stored = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
            size = _item_size(stored)
            rows.append((f"{kind} {key['PK']['S'].split('#')[0]}", size, _wcu(size, True)))
            if "GSI1PK" in stored:
                rows.append((f"  GSI1 entry of {key['PK']['S'].split('#')[0]}", size, _wcu(size, False)))
        idem_units = 0
        for op, p in written:
            if op in ("PutItem", "UpdateItem") and p.get("TableName") != table:
                stored = ddb.get_item(TableName=p["TableName"], Key={"id": (p.get("Item") or p["Key"])["id"]},
                                      ConsistentRead=True).get("Item", {})
                size = _item_size(stored)
                rows.append((f"{op} idempotency record", size, _wcu(size, False)))
                idem_units += _wcu(size, False)
        total = sum(w for _, _, w in rows)
        print("write units of one claim (transactional writes: 2 WCU per KB per item; GSI and idempotency: 1):")
        for name, size, units in rows:
            print(f"  {name:34} {size:5d} B  {units} WCU")
        items = 5 if sourced else 4  # + today's daily shard: the daily limit's own condition needs its own item
        minimum = items * 2 + 1  # stock shard, holding, coupon, code (each < 1 KB, in a transaction) + coupon's GSI1
        print(f"total {total} WCU per claim ({total - idem_units} without an Idempotency-Key); the invariants' "
              f"minimum is {minimum} ({items} items in one transaction + the member's index entry"
              + ("; the source rides on the coupon item at no extra unit while it stays under 1 KB)" if sourced
                 else ")"))
        shard_units = 2
        print(f"paper capacity of one template: {MAX_STOCK_SHARDS} shards x {PARTITION_WCU_PER_SECOND} WCU/s "
              f"/ {shard_units} WCU per claim on a shard = "
              f"{MAX_STOCK_SHARDS * PARTITION_WCU_PER_SECOND // shard_units:,} claims/s")
    finally:
        cloud.stop()
        wechat.stop()


def _forget_claim(ddb: Any, calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Delete what a claim created (coupon, code, holding, idempotency record), untimed: every claim then meets
    the same table (moto's cost per transaction grew with the table; DynamoDB Local's does not, much)."""
    for op, p in calls:
        if op == "TransactWriteItems":
            for entry in p["TransactItems"]:
                (kind, item), = entry.items()
                key = item.get("Key") or {"PK": item["Item"]["PK"], "SK": item["Item"]["SK"]}
                if not key["PK"]["S"].startswith(("STOCK#", "DAILY#")):
                    ddb.delete_item(TableName=item["TableName"], Key=key)
        elif op == "PutItem" and "id" in p["Item"]:
            ddb.delete_item(TableName=p["TableName"], Key={"id": p["Item"]["id"]})


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


if __name__ == "__main__":
    main()
