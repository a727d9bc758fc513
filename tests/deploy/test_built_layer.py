"""The layer as `sam build` makes it (shared/Makefile), built for this machine, and every function of the template
imported from it in a fresh python3.12 the way Lambda imports it: only the function's folder, the layer and the
runtime's boto3 on sys.path, the environment the template gives it, and Secrets Manager faked on loopback. Each
import reads its secrets from the fake and connects nowhere else; no layer module is compiled from source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.fake_secretsmanager import FakeSecretsManager
from deploy.layer import (
    SHARED,
    built_layer,
    function_environment,
    import_function,
    runtime_boto3,
    runtime_distributions,
    seed_secrets,
)
from local.stack import load_stack

STACK = load_stack()
RUNTIME_PROVIDES = re.search(r"^RUNTIME_PROVIDES := (.+)$", (SHARED / "Makefile").read_text(), re.M).group(1).split()


@pytest.fixture(scope="module")
def layer() -> Path:
    return built_layer()


@pytest.fixture(scope="module")
def runtime() -> Path:
    return runtime_boto3()


@pytest.fixture(scope="module")
def secretsmanager() -> Iterator[tuple[FakeSecretsManager, dict[str, str]]]:
    fake = FakeSecretsManager().start()
    arns = seed_secrets(STACK, fake)  # as the first deploy leaves them: WeChatSecret still empty
    yield fake, arns
    fake.stop()


def _distributions(path: Path) -> set[str]:
    return runtime_distributions(path)


def test_layer_leaves_out_what_the_runtime_has_and_what_nothing_imports(layer, runtime):
    shipped = _distributions(layer)
    assert {"aws-lambda-powertools", "pynamodb", "pydantic", "cryptography", "wechatpayv3"} <= shipped
    assert not shipped & set(RUNTIME_PROVIDES), shipped & set(RUNTIME_PROVIDES)
    assert not (layer / "botocore").exists() and not (layer / "boto3").exists()
    assert not list(layer.glob("aws_xray_sdk*")), "the X-Ray SDK: nothing imports it"
    # Everything left out is really there in the runtime: a boto3 install brings each one.
    assert set(RUNTIME_PROVIDES) <= runtime_distributions(runtime)


def test_layer_ships_unchecked_hash_bytecode_for_every_module(layer):
    sources = [p for p in layer.rglob("*.py")]
    assert len(sources) > 300
    missing, checked = [], []
    for src in sources:
        pyc = src.parent / "__pycache__" / f"{src.stem}.cpython-312.pyc"
        if not pyc.is_file():
            missing.append(str(src.relative_to(layer)))
            continue
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        if flags != 0b01:  # hash-based, not checked against the source (PEP 552)
            checked.append(str(src.relative_to(layer)))
    assert missing == [] and checked == []


@pytest.mark.parametrize("lid", sorted(STACK.functions))
def test_function_imports_in_a_fresh_python312_from_the_built_layer(layer, runtime, secretsmanager, lid):
    fake, arns = secretsmanager
    fn = STACK.functions[lid]
    env = function_environment(STACK, fn, arns, fake.endpoint)
    wanted = [a for a in env["SECRET_ARNS"].split(",") if a]
    assert wanted and set(wanted) <= set(arns.values())
    before = dict(fake.reads)
    seen: dict[str, Any] = import_function(fn, env, layer, runtime)
    host, port = fake.address
    # Only the loopback fake: each secret of SECRET_ARNS read at cold start, nothing else reached.
    assert seen["connect"] and all(c == [host, port] for c in seen["connect"]), seen["connect"]
    assert set(seen["getaddrinfo"]) <= {host}, seen["getaddrinfo"]
    reads = {a: fake.reads[a] - before.get(a, 0) for a in wanted}
    assert all(1 <= n <= 3 for n in reads.values()), reads  # once; botocore's retries (3 attempts) on a slow host
    assert seen["compiled"] == [], "layer modules compiled from source at import"
    assert seen["xray"] == []
    # Settings read secrets with botocore: boto3 is not imported on their account.
    assert not any("settings" in f or "parameters" in f for f in seen["boto3_by"]), seen["boto3_by"]


def test_every_function_of_the_template_is_checked():
    # New functions appear in the parametrized test above by themselves: it reads the template.
    assert len(STACK.functions) >= 50
