"""Cold init of each function as deployed: a fresh python3.12 importing its handler from the built layer, against a
bare handler that only imports boto3.

What it measures: CPU time (user + system, of the child: steady on a shared, loaded machine, where wall time is
not) of `python3.12 -I -S -c "<import the handler module>"` in a new process, the way
Lambda starts one: on sys.path only the function's folder, the layer as `sam build` makes it (shared/Makefile:
no boto3/botocore, unchecked-hash bytecode) and the runtime's boto3; the environment the template gives the
function; its secrets read at init from a loopback Secrets Manager (SECRET_ARNS as deployed). Median of N runs
per function in template.yaml; the baseline is the same interpreter importing only boto3 (and one that also
makes a DynamoDB client). Also the claim function and the authorizer from the same layer without its .pyc
files, as a layer without bytecode on a read-only /opt runs: every cold start compiles from source.
Goal: ≤ 1.6× the bare `import boto3`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
from pathlib import Path

from deploy.fake_secretsmanager import FakeSecretsManager
from deploy.layer import WORK, built_layer, function_environment, python312, runtime_boto3, seed_secrets
from local.stack import load_stack

RUNS = int(os.environ.get("BENCH_COLD_RUNS", "7"))
# Only these functions (logical ids, comma-separated), e.g. the claim path: ClaimCouponFunction,AuthorizerFunction
ONLY = {f for f in os.environ.get("BENCH_COLD_FUNCTIONS", "").split(",") if f}

BARE = "import boto3\n"  # the baseline: a handler that only imports boto3
BARE_CLIENT = "import boto3\nclient = boto3.client('dynamodb')\n"  # and one that also makes its client
NO_PYC_FUNCTIONS = ("ClaimCouponFunction", "AuthorizerFunction")


def _code(paths: list[str], body: str) -> str:
    return f"import sys; sys.path[:0] = {json.dumps(paths)}\n{body}"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(py: Path, code: str, cwd: str, env: dict[str, str]) -> float:
    started = _cpu()
    # -B: write no .pyc, as on Lambda's read-only /opt and /var/task (-I ignores PYTHONDONTWRITEBYTECODE)
    subprocess.run([str(py), "-I", "-S", "-B", "-c", code], cwd=cwd, env=env, check=True)
    return _cpu() - started


def _median(py: Path, code: str, cwd: str, env: dict[str, str]) -> float:
    _time(py, code, cwd, env)  # the OS file cache warm, as on a Lambda host
    return statistics.median(_time(py, code, cwd, env) for _ in range(RUNS))


def _without_bytecode(layer: Path) -> Path:
    out = WORK / f"{layer.parent.name}-no-pyc"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(layer, out, ignore=shutil.ignore_patterns("__pycache__"))
    return out


def main() -> None:
    stack = load_stack()
    py, layer, runtime = python312(), built_layer(), runtime_boto3()
    fake = FakeSecretsManager().start()
    try:
        arns = seed_secrets(stack, fake)
        any_fn = next(iter(stack.functions.values()))
        base_env = function_environment(stack, any_fn, arns, fake.endpoint)
        bare = _median(py, _code([str(runtime)], BARE), str(any_fn.code_uri), base_env)
        bare_client = _median(py, _code([str(runtime)], BARE_CLIENT), str(any_fn.code_uri), base_env)
        print(f"cold init CPU time, median of {RUNS} fresh python3.12 (built layer, bytecode, secrets read): bare "
              f"`import boto3` {bare*1000:.0f} ms, bare `import boto3` + DynamoDB client {bare_client*1000:.0f} ms")
        print(f"{'function':32} {'cpu ms':>7} {'vs bare':>8} {'vs bare+client':>15}")
        worst, ratios = 0.0, []
        for lid, fn in sorted(stack.functions.items()):
            if ONLY and lid not in ONLY:
                continue
            env = function_environment(stack, fn, arns, fake.endpoint)
            module = fn.handler.rsplit(".", 1)[0]
            t = _median(py, _code([str(fn.code_uri), str(layer), str(runtime)], f"import {module}"),
                        str(fn.code_uri), env)
            worst = max(worst, t / bare)
            ratios.append(t / bare)
            print(f"{lid:32} {t*1000:7.0f} {t/bare:7.2f}x {t/bare_client:14.2f}x")
        print(f"ratio vs bare: median {statistics.median(ratios):.2f}x, worst {worst:.2f}x (goal <= 1.6x)")
        plain = _without_bytecode(layer)
        for lid in NO_PYC_FUNCTIONS:
            fn = stack.functions[lid]
            env = function_environment(stack, fn, arns, fake.endpoint)
            module = fn.handler.rsplit(".", 1)[0]
            t = _median(py, _code([str(fn.code_uri), str(plain), str(runtime)], f"import {module}"),
                        str(fn.code_uri), env)
            print(f"{lid} from the layer without .pyc (read-only /opt): {t*1000:.0f} ms, {t/bare:.2f}x bare")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
