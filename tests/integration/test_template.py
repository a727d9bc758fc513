"""The template is the single source: it lints clean, every function has a working sample event, and the
OpenAPI document (served and in docs/) agrees with the template's routes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cfnlint.api import lint_file

from local.apigw import ApiGateway
from local.openapi import OPENAPI_FILE, build_openapi
from local.stack import ROOT, load_stack
from local.testing import TestClient

STACK = load_stack()


def test_cfn_lint_finds_no_error():
    matches = lint_file(Path(ROOT / "template.yaml"))
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert errors == [], "\n".join(str(m) for m in errors)


def test_no_policy_grants_data_on_every_resource():
    for lid, fn in STACK.resources("AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies") or []:
            text = json.dumps(policy)
            assert '"Resource": "*"' not in text, lid


def test_every_function_has_its_own_folder_and_sample_event():
    for lid, fn in STACK.functions.items():
        assert (fn.code_uri / "app.py").is_file(), lid
        assert (ROOT / "events" / f"{fn.code_uri.name}.json").is_file(), f"events/{fn.code_uri.name}.json missing"


def _seeded(cloud):
    from local.seed import seed

    return seed(TestClient(ApiGateway(cloud)))


@pytest.mark.parametrize("lid", sorted(STACK.functions))
def test_sample_event_invokes(cloud, lid):
    demo = _seeded(cloud)
    fn = STACK.functions[lid]
    text = (ROOT / "events" / f"{fn.code_uri.name}.json").read_text()
    text = text.replace("<token from POST /auth/login>", demo["admin"]["token"])
    event = json.loads(text)
    if event.get("type") == "REQUEST":  # the authorizer
        result = cloud.invoke(lid, event)
        assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        return
    result = cloud.invoke(lid, event)
    if isinstance(result, dict) and "statusCode" in result:
        assert result["statusCode"] < 500, result


def test_openapi_document_agrees_with_the_template_and_docs(cloud):
    doc = build_openapi(cloud)
    served = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    declared = {(r.method, re.sub(r"\{[^}]+\}", lambda m: m.group(0), r.path)) for r in STACK.routes}
    assert served == declared
    for route in STACK.routes:
        op = doc["paths"][route.path][route.method.lower()]
        assert bool(op.get("security")) == route.authorized, route.path
    on_disk = json.loads(OPENAPI_FILE.read_text())
    assert on_disk == json.loads(json.dumps(doc)), "docs/openapi.json is stale: run `make openapi`"
