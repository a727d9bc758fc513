"""`make deploy ENV=<env>`'s first step: the parameters a deploy of <env> gives the template, checked before any
SAM command runs, naming every one that is missing or malformed.

Parameters come, later ones winning, from samconfig.toml `[<env>.deploy.parameters] parameter_overrides`, from
samconfig.local.toml (same shape, not committed: the brand's own values), and from PARAMS="Key=Value ...".
Prints the merged overrides (one line, for `sam deploy --parameter-overrides`) and exits 0, or names what is
wrong on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from deploy.transform import ROOT, TEMPLATE, source

HINT = ("set them in samconfig.toml [{env}.deploy.parameters] parameter_overrides, in samconfig.local.toml "
        "(same shape, not committed), or on the command line: make deploy ENV={env} PARAMS=\"Key=Value ...\"; "
        "docs/deploying.md says where each value comes from")


def parse_overrides(text: str) -> dict[str, str]:
    """SAM's `Key=Value Key2="a b"` form."""
    out: dict[str, str] = {}
    for item in shlex.split(text or ""):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"not Key=Value: {item!r}")
        out[key] = value
    return out


def format_overrides(values: dict[str, str]) -> str:
    return " ".join(f"{k}={shlex.quote(v)}" if v else f'{k}=""' for k, v in values.items())


def env_config(path: Path, env: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    doc = tomllib.loads(path.read_text())
    return ((doc.get(env) or {}).get("deploy") or {}).get("parameters")


def environments(path: Path) -> list[str]:
    doc = tomllib.loads(path.read_text())
    return sorted(k for k, v in doc.items() if isinstance(v, dict) and "deploy" in v)


def problems(values: dict[str, str], region: str, template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(missing, invalid): required parameters without a value, and values the template or a deploy would refuse."""
    declared = template.get("Parameters") or {}
    missing, invalid = [], []
    for name in values:
        if name not in declared:
            invalid.append(f"{name}: not a parameter of template.yaml")
    for name, spec in declared.items():
        value = values.get(name, spec.get("Default"))
        if value is None or (value == "" and "Default" not in spec):
            missing.append(name)
            continue
        value = str(value)
        if spec.get("AllowedValues") and value not in [str(v) for v in spec["AllowedValues"]]:
            invalid.append(f"{name}={value!r}: one of {', '.join(map(str, spec['AllowedValues']))}")
        elif "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            invalid.append(f"{name}={value!r}: {spec.get('ConstraintDescription') or spec['AllowedPattern']}")
        elif len(value) < int(spec.get("MinLength", 0)):
            invalid.append(f"{name}: empty")
    get = lambda k: str(values.get(k, (declared.get(k) or {}).get("Default", "")) or "")  # noqa: E731
    china = region.startswith("cn-")
    if get("ApiDomainName") and not get("ApiCertificateArn"):
        missing.append("ApiCertificateArn (ApiDomainName needs its ACM certificate)")
    if get("ApiCertificateArn") and not get("ApiCertificateArn").startswith(
            "arn:aws-cn:acm:" if china else "arn:aws:acm:"):
        invalid.append(f"ApiCertificateArn: an ACM certificate ARN of the {'aws-cn' if china else 'aws'} partition")
    if china and not get("ApiDomainName"):
        missing.append("ApiDomainName (in China the mini-program may only call an ICP-filed domain)")
    if get("Stage") == "prod" and not (get("ApiDomainName") or get("PayNotifyUrl")):
        missing.append("ApiDomainName or PayNotifyUrl (prod takes payments: WeChat Pay needs the notify URL)")
    return missing, invalid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m deploy.check", description=__doc__.split("\n\n")[0])
    ap.add_argument("env")
    ap.add_argument("--config", type=Path, default=ROOT / "samconfig.toml")
    ap.add_argument("--local", type=Path, default=ROOT / "samconfig.local.toml")
    ap.add_argument("--params", default="")
    ap.add_argument("--template", type=Path, default=TEMPLATE)
    args = ap.parse_args(argv)

    config = env_config(args.config, args.env)
    if config is None:
        print(f"no environment {args.env!r} in {args.config.name}: one of {', '.join(environments(args.config))}",
              file=sys.stderr)
        return 2
    local = env_config(args.local, args.env) or {}
    try:
        values = {**parse_overrides(str(config.get("parameter_overrides", ""))),
                  **parse_overrides(str(local.get("parameter_overrides", ""))),
                  **parse_overrides(args.params)}
    except ValueError as exc:
        print(f"parameter overrides: {exc}", file=sys.stderr)
        return 2
    region = str(local.get("region") or config.get("region") or "")
    if not region:
        print(f"{args.config.name} [{args.env}.deploy.parameters] names no region", file=sys.stderr)
        return 2
    missing, invalid = problems(values, region, source(args.template))
    if missing or invalid:
        if missing:
            print(f"{args.env}: missing parameters: {', '.join(missing)}", file=sys.stderr)
        for line in invalid:
            print(f"{args.env}: invalid parameter {line}", file=sys.stderr)
        print(HINT.format(env=args.env), file=sys.stderr)
        return 2
    print(format_overrides(values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
