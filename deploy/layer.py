"""The layer as `sam build` makes it (shared/Makefile, build-SharedLayer), built for this machine, and a fresh
python3.12 that imports a function the way Lambda does: only the function's folder, the layer and the runtime's
boto3 on sys.path, the template's environment, and Secrets Manager on loopback.

Builds are kept under .aws-sam/ and made again only when shared/ changes; concurrent test workers wait on a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.stack import ACCOUNT, Function, Resolver, Stack

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared"
WORK = ROOT / ".aws-sam" / "deploy-checks"
VENV312 = ROOT / ".venv312"
REGION = "ap-east-1"


@contextmanager
def _locked(name: str) -> Iterator[None]:
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def python312() -> Path:
    """A venv of python3.12 (the runtime's version), made from the machine's or one installed for it."""
    py = VENV312 / "bin" / "python3.12"
    with _locked("venv312"):
        if not (VENV312 / "bin" / "pip").exists():  # pip is installed last: a venv without it is half made
            shutil.rmtree(VENV312, ignore_errors=True)
            found = subprocess.run([str(ROOT / "deploy" / "python312.sh")], check=True, text=True,
                                   stdout=subprocess.PIPE).stdout.strip()
            subprocess.run([found, "-m", "venv", str(VENV312)], check=True)
    return py


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in sorted([SHARED / "Makefile", SHARED / "requirements.txt", *(SHARED / "storeloop").rglob("*.py")]):
        h.update(str(path.relative_to(SHARED)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def built_layer() -> Path:
    """The layer's python/ folder, built by `make -C shared build-SharedLayer` for this machine's platform."""
    out = WORK / f"layer-{_source_hash()}"
    with _locked("layer"):
        if not out.is_dir():
            py, partial = python312(), out.with_name(out.name + ".partial")  # renamed when whole
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(["make", "-s", "-C", str(SHARED), "build-SharedLayer", f"ARTIFACTS_DIR={partial}",
                            "LAYER_PLATFORM=", f"PY312={py}"], check=True)
            partial.rename(out)
    return out / "python"


def runtime_boto3() -> Path:
    """What the python3.12 runtime has beside the standard library: boto3 and its dependencies."""
    out = WORK / "runtime-boto3"
    with _locked("runtime"):
        if not out.is_dir():
            partial = out.with_name(out.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run([str(python312()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "--target", str(partial), "boto3>=1.35,<2"], check=True)
            partial.rename(out)
    return out


def runtime_distributions(path: Path) -> set[str]:
    return {p.name.split("-")[0].lower().replace("_", "-") for p in path.glob("*.dist-info")}


class _Physical(dict):
    """Physical names for every resource of the stack: made up, except the secrets (the fake's ARNs)."""

    def __missing__(self, lid: str) -> dict[str, str]:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:{lid}"
        value = {"Ref": f"storeloop-check-{lid}", "Arn": arn, "Name": f"storeloop-check-{lid}",
                 "QueueName": f"storeloop-check-{lid}", "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{lid}",
                 "StreamArn": f"{arn}/stream/check"}
        self[lid] = value
        return value


def seed_secrets(stack: Stack, fake: Any) -> dict[str, str]:
    """Each AWS::SecretsManager::Secret of the template in the fake, as CloudFormation would create it: the
    generated key for GenerateSecretString, the template's SecretString as is. Returns logical id -> ARN."""
    arns = {}
    for lid, res in stack.resources("AWS::SecretsManager::Secret").items():
        props = res.get("Properties") or {}
        gen = props.get("GenerateSecretString")
        if gen:
            value = json.loads(gen.get("SecretStringTemplate") or "{}")
            value[gen["GenerateStringKey"]] = secrets.token_hex(int(gen.get("PasswordLength", 32)) // 2)
        else:
            value = json.loads(props["SecretString"])
        arns[lid] = fake.create(lid, value)
    return arns


def function_environment(stack: Stack, fn: Function, secret_arns: dict[str, str], endpoint: str) -> dict[str, str]:
    """The environment Lambda gives the function: the template's variables (resolved) and the runtime's own."""
    physical = _Physical({lid: {"Ref": arn, "Arn": arn} for lid, arn in secret_arns.items()})
    for lid in stack.doc.get("Resources") or {}:
        physical[lid]  # noqa: B018 - made up on first use
    resolver = Resolver(stack, REGION, physical)
    env = {k: str(resolver.resolve(v)) for k, v in fn.environment.items()}
    env.update({
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "AKIDCHECK",
        "AWS_SECRET_ACCESS_KEY": "check", "AWS_SESSION_TOKEN": "check",
        "AWS_LAMBDA_FUNCTION_NAME": fn.logical_id, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "LAMBDA_TASK_ROOT": str(fn.code_uri),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,  # the loopback fake
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
    })
    return env


# Runs in the fresh interpreter (-I -S -B: no site-packages, no PYTHONPATH, no .pyc written): the sys.path Lambda
# gives, an audit hook recording every connection, name lookup and source compilation, then the handler's import.
_PROBE = r"""
import json, sys, time
paths, handler_module, layer = sys.argv[1:4]
seen = {"connect": [], "getaddrinfo": [], "compiled": []}
def hook(event, args):
    if event == "socket.connect":
        seen["connect"].append(list(args[1]) if isinstance(args[1], tuple) else str(args[1]))
    elif event == "socket.getaddrinfo":
        seen["getaddrinfo"].append(str(args[0]))
    elif event == "compile" and isinstance(args[1], str) and args[1].startswith(layer):
        seen["compiled"].append(args[1])
sys.addaudithook(hook)
class Boto3Watch:
    # who imports boto3 first: the layer files on the stack at that moment
    def find_spec(self, name, path=None, target=None):
        if name == "boto3" and not seen.get("boto3_by"):
            frame, files = sys._getframe(1), []
            while frame is not None:
                if frame.f_code.co_filename.startswith(layer):
                    files.append(frame.f_code.co_filename[len(layer):])
                frame = frame.f_back
            seen["boto3_by"] = files
        return None
seen["boto3_by"] = []
sys.meta_path.insert(0, Boto3Watch())
sys.path[:0] = json.loads(paths)
started = time.perf_counter()
import importlib
importlib.import_module(handler_module)
seen["import_ms"] = (time.perf_counter() - started) * 1000
seen["boto3"] = "boto3" in sys.modules
seen["xray"] = sorted(m for m in sys.modules if m.startswith("aws_xray_sdk"))
seen["modules"] = len(sys.modules)
print("PROBE" + json.dumps(seen))
"""


def import_function(fn: Function, env: dict[str, str], layer: Path, runtime: Path,
                    python: Path | None = None) -> dict[str, Any]:
    """Import the function's handler module in a fresh python3.12 as Lambda would; what the probe saw."""
    py = python or python312()
    module = fn.handler.rsplit(".", 1)[0]
    paths = json.dumps([str(fn.code_uri), str(layer), str(runtime)])
    # -B: no .pyc written, as on Lambda's read-only /opt (a missing one would be compiled again at each start)
    done = subprocess.run([str(py), "-I", "-S", "-B", "-c", _PROBE, paths, module, str(layer)], cwd=str(fn.code_uri),
                          env=env, text=True, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"{fn.logical_id} failed to import:\n{done.stderr[-4000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE"))
    return json.loads(line[len("PROBE"):])


if __name__ == "__main__":
    print(built_layer())
    sys.exit(0)
