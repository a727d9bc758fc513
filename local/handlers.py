"""The functions' handlers imported in-process from their CodeUri folders, and the context Lambda passes them."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from local.clients import REGION
from local.stack import ACCOUNT, Function, Stack

Handler = Callable[[dict, Any], Any]


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


def module_key(fn: Function) -> str:
    """The sys.modules name of a function's handler module (folders all name theirs app.py)."""
    return f"storeloop_fn_{fn.code_uri.name}_{fn.handler.rsplit('.', 1)[0]}"


def load_handlers(stack: Stack) -> dict[str, Handler]:
    """Each function's handler, its module imported once per process."""
    handlers: dict[str, Handler] = {}
    for lid, fn in stack.functions.items():
        module_name, attr = fn.handler.rsplit(".", 1)
        key = module_key(fn)
        module = sys.modules.get(key)
        if module is None:
            spec = importlib.util.spec_from_file_location(key, fn.code_uri / f"{module_name}.py")
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {fn.code_uri}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[key] = module
            spec.loader.exec_module(module)
        handlers[lid] = getattr(module, attr)
    return handlers
