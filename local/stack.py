"""Reads template.yaml into what the local cloud needs: functions, routes, tables, queues, flows, schedules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parent.parent
# Values of the template's required parameters (no Default) in the local cloud; a deploy names its own.
LOCAL_PARAMETERS = {
    "WeChatAppId": "wxd0c0ffee00000001",
    "AdminOpenIds": "o_local_admin_openid_000000001",
    "PayMchId": "1900000001",
    "VisitReminderTemplateId": "visit-reminder-template",
}


@dataclass
class Route:
    method: str  # upper case, or ANY
    path: str  # as declared, e.g. /stores/{store_id}
    function: str  # logical id
    authorized: bool

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{[^}+]+\\\+\\\}", "(?P<proxy>.+)", re.escape(self.path))
        pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", pattern)
        self.regex = re.compile(f"^{pattern}$")
        # API Gateway prefers literal segments over parameters: sort by that.
        self.specificity = tuple(0 if s.startswith("{") else 1 for s in self.path.strip("/").split("/"))


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    timeout: int
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Stack:
    template_path: Path
    doc: dict[str, Any]
    parameters: dict[str, Any]
    functions: dict[str, Function]
    routes: list[Route]
    authorizer: str | None
    gateway_responses: dict[str, dict[str, Any]]
    authorizer_ttl: int = 0  # ReauthorizeEvery: API Gateway's cache of the authorizer's answer, per token

    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.doc.get("Resources", {}).items() if v.get("Type") in types}


def load_stack(template_path: str | Path = ROOT / "template.yaml") -> Stack:
    path = Path(template_path).resolve()
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int) -> Stack:
    doc, matches = decode(str(path))
    if doc is None:
        raise ValueError(f"cannot parse {path}: {matches}")
    params = {k: v.get("Default", LOCAL_PARAMETERS.get(k)) for k, v in (doc.get("Parameters") or {}).items()}
    glob = ((doc.get("Globals") or {}).get("Function") or {})
    glob_env = ((glob.get("Environment") or {}).get("Variables") or {})
    functions: dict[str, Function] = {}
    routes: list[Route] = []
    authorizer = None
    authorizer_ttl = 0
    gateway_responses: dict[str, dict[str, Any]] = {}
    for lid, res in (doc.get("Resources") or {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Api":
            auth = props.get("Auth") or {}
            default = auth.get("DefaultAuthorizer")
            spec = (auth.get("Authorizers") or {}).get(default) if default else None
            if spec:
                arn = spec.get("FunctionArn")
                if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                    authorizer = arn["Fn::GetAtt"][0]
                elif isinstance(arn, dict) and str(arn.get("Ref", "")).endswith(".Alias"):  # the function's alias
                    authorizer = arn["Ref"].rsplit(".", 1)[0]
            gateway_responses = props.get("GatewayResponses") or {}
            if spec:
                authorizer_ttl = int((spec.get("Identity") or {}).get("ReauthorizeEvery", 300))
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        env = dict(glob_env)
        env.update((props.get("Environment") or {}).get("Variables") or {})
        fn = Function(
            logical_id=lid,
            code_uri=(path.parent / props["CodeUri"]).resolve(),
            handler=props.get("Handler") or glob.get("Handler", "app.lambda_handler"),
            environment=env,
            timeout=int(props.get("Timeout") or glob.get("Timeout") or 3),
            events=props.get("Events") or {},
        )
        functions[lid] = fn
        for ev in fn.events.values():
            if ev.get("Type") != "Api":
                continue
            ep = ev.get("Properties") or {}
            ev_auth = (ep.get("Auth") or {}).get("Authorizer")
            routes.append(Route(str(ep["Method"]).upper(), ep["Path"], lid,
                                authorized=bool(authorizer) and ev_auth != "NONE"))
    routes.sort(key=lambda r: r.specificity, reverse=True)
    return Stack(path, doc, params, functions, routes, authorizer, gateway_responses, authorizer_ttl)


class Resolver:
    """Resolves Ref / Fn::GetAtt / Fn::Sub against the names the local cloud gave each resource."""

    def __init__(self, stack: Stack, region: str, physical: dict[str, dict[str, str]],
                 partition: str = "aws") -> None:
        self.stack = stack
        self.region = region
        self.physical = physical  # logical id -> {"Ref": ..., "Arn": ..., ...}
        self.partition = partition

    def ref(self, name: str) -> str:
        if name in self.stack.parameters:
            return str(self.stack.parameters[name])
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::StackName": "storeloop-local",
                  "AWS::Partition": self.partition,
                  "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.physical:
            return self.physical[name]["Ref"]
        if name.endswith(".Alias") and name[:-6] in self.physical:  # AutoPublishAlias: live
            return self.physical[name[:-6]]["Arn"] + ":live"
        raise KeyError(f"unresolved Ref {name}")

    def get_att(self, name: str, attr: str) -> str:
        try:
            return self.physical[name][attr]
        except KeyError:
            raise KeyError(f"unresolved GetAtt {name}.{attr}") from None

    def condition(self, name: str) -> bool:
        return bool(self.evaluate((self.stack.doc.get("Conditions") or {})[name]))

    def evaluate(self, expr: Any) -> Any:
        """A condition's value: Fn::Equals / Not / And / Or and Condition, over resolved values."""
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                return str(self.evaluate(arg[0])) == str(self.evaluate(arg[1]))
            if key == "Fn::Not":
                return not self.evaluate(arg[0])
            if key == "Fn::And":
                return all(self.evaluate(a) for a in arg)
            if key == "Fn::Or":
                return any(self.evaluate(a) for a in arg)
        return self.resolve(expr)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::If":
                name, then, otherwise = arg
                return self.resolve(then if self.condition(name) else otherwise)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attr)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                extra = {k: self.resolve(v) for k, v in extra.items()}

                def sub(m: re.Match[str]) -> str:
                    token = m.group(1)
                    if token in extra:
                        return str(extra[token])
                    if "." in token:
                        return self.get_att(*token.split(".", 1))
                    return self.ref(token)

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(i)) for i in items)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value
