"""Cold init of each function: a fresh interpreter importing its handler, against a bare boto3-only handler.

What it measures: wall time of `python -c "<import the handler module>"` in a new process (interpreter start,
imports, and the module's cold-start work such as settings validation and the DynamoDB client), median of
N runs, for every function in template.yaml; the baseline is the same for a handler that only imports boto3
and creates a DynamoDB client. The ratio is what our layer adds to a bare Lambda's init. Goal: ≤ 1.6×.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from local.cloud import LOCAL_SECRETS
from local.stack import ROOT, load_stack

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "7"))

BARE = "import boto3\n"  # the baseline: a handler that only imports boto3
BARE_CLIENT = "import boto3\nclient = boto3.client('dynamodb')\n"  # and one that also makes its client


def _env() -> dict[str, str]:
    return {**os.environ, **LOCAL_SECRETS, "PYTHONPATH": f"{ROOT / 'shared'}", "AWS_DEFAULT_REGION": "ap-east-1",
            "AWS_REGION": "ap-east-1", "TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i", "SECRET_ARNS": "",
            "POWERTOOLS_TRACE_DISABLED": "true", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
            "PYTHONDONTWRITEBYTECODE": "1"}


def _time(code: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=_env(), check=True)
    return time.perf_counter() - started


def main() -> None:
    stack = load_stack()
    # Warm the OS file cache and .pyc files once, as a Lambda image would have them.
    _time(BARE, str(ROOT))
    bare = statistics.median(_time(BARE, str(ROOT)) for _ in range(RUNS))
    bare_client = statistics.median(_time(BARE_CLIENT, str(ROOT)) for _ in range(RUNS))
    print(f"cold init, median of {RUNS} fresh interpreters: bare `import boto3` {bare*1000:.0f} ms, "
          f"bare `import boto3` + DynamoDB client {bare_client*1000:.0f} ms")
    print(f"{'function':32} {'ms':>7} {'vs bare':>8} {'vs bare+client':>15}")
    worst = 0.0
    for lid, fn in sorted(stack.functions.items()):
        code = f"import sys; sys.path.insert(0, '.'); import {fn.handler.rsplit('.', 1)[0]}"
        _time(code, str(fn.code_uri))
        t = statistics.median(_time(code, str(fn.code_uri)) for _ in range(RUNS))
        worst = max(worst, t / bare)
        print(f"{lid:32} {t*1000:7.0f} {t/bare:7.2f}x {t/bare_client:14.2f}x")
    print(f"worst ratio vs bare {worst:.2f}x (goal <= 1.6x)")


if __name__ == "__main__":
    main()
