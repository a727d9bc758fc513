"""The template as CloudFormation sees it after the SAM transform, offline (samtranslator, no AWS call), and
cfn-lint on that. cfn-lint on the SAM source skips cycles through AWS::Serverless::* resources; the transformed
template has plain Lambda, API Gateway and IAM resources, so a circular dependency shows up there (E3004).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

# What `sam deploy` uploads: code locations become s3:// URIs (the translator accepts nothing else).
_CODE_PROPS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri",
               "AWS::Serverless::StateMachine": "DefinitionUri"}


class _NoIamLoader:
    """The translator asks IAM for managed policy ARNs only for names its bundled list lacks: answer none."""

    def load(self) -> dict[str, str]:
        return {}


def source(path: Path = TEMPLATE) -> dict[str, Any]:
    doc, matches = decode(str(path))
    if doc is None:
        raise ValueError(f"cannot parse {path}: {matches}")
    return json.loads(json.dumps(doc))  # plain dicts (cfn-lint's decoded nodes carry marks)


def packaged(doc: dict[str, Any]) -> dict[str, Any]:
    """`sam package`'s rewrite: local code paths to S3 URIs; state machine definitions inlined with their file."""
    doc = copy.deepcopy(doc)
    for lid, res in (doc.get("Resources") or {}).items():
        prop = _CODE_PROPS.get(res.get("Type", ""))
        props = res.get("Properties") or {}
        if prop and isinstance(props.get(prop), str):
            if prop == "DefinitionUri":
                props["Definition"] = json.loads((ROOT / props.pop(prop)).read_text())
            else:
                props[prop] = f"s3://storeloop-artifacts/{lid}.zip"
    return doc


def transformed(region: str = "ap-east-1", parameters: dict[str, str] | None = None,
                path: Path = TEMPLATE, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would create, for a region (its partition decides ARNs), from
    template.yaml or from `doc` (a source template as `source()` reads it)."""
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform

    previous = ArnGenerator.BOTO_SESSION_REGION_NAME, os.environ.get("AWS_DEFAULT_REGION")
    ArnGenerator.BOTO_SESSION_REGION_NAME = region
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator's pseudo parameters come from a boto3 session
    try:
        return transform(packaged(doc or source(path)), dict(parameters or {}), _NoIamLoader())  # type: ignore[arg-type]
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = previous[0]
        if previous[1] is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous[1]


# cfn-lint's E2530 ("SnapStart is not offered in this region") looks at every branch of an Fn::If, including the
# one CloudFormation takes only outside China: `SnapStart: !If [InChina, !Ref AWS::NoValue, {...}]` removes the
# property in aws-cn before Lambda sees it. So in the China regions E2530 is replaced by our own, exact check
# (`snapstart_in_china`, asserted in tests/deploy): no function keeps SnapStart once InChina is true.
_CHINA_ONLY_IGNORED = ["E2530"]


def lint(doc: dict[str, Any], region: str) -> list[Any]:
    """cfn-lint's matches on a (transformed) template for one region."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    ignored = _CHINA_ONLY_IGNORED if region.startswith("cn-") else []
    return list(cfn_lint(json.dumps(doc), config=ManualArgs(regions=[region], ignore_checks=ignored)))


def snapstart_in_china(doc: dict[str, Any]) -> list[str]:
    """The functions of a transformed template that would have SnapStart in the China regions: every SnapStart
    must be `Fn::If [InChina, AWS::NoValue, …]` (InChina being the aws-cn partition)."""
    china = (doc.get("Conditions") or {}).get("InChina")
    wrong = []
    for lid, res in (doc.get("Resources") or {}).items():
        snap = (res.get("Properties") or {}).get("SnapStart") if res.get("Type") == "AWS::Lambda::Function" else None
        if snap is None:
            continue
        branches = snap.get("Fn::If") if isinstance(snap, dict) else None
        if not (china == {"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]} and isinstance(branches, list)
                and branches[:2] == ["InChina", {"Ref": "AWS::NoValue"}]):
            wrong.append(lid)
    return wrong


def main() -> int:
    import sys

    failed = 0
    for region in sys.argv[1:] or ["ap-east-1", "cn-north-1"]:
        matches = lint(transformed(region), region)
        for m in matches:
            print(f"{region}: {m}")
        failed += sum(1 for m in matches if m.rule.id.startswith("E"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
