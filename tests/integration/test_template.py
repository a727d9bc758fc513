"""The template is the single source: it lints clean, every function has a sample event that succeeds (a 2xx
with the body the route documents, or the return its task documents), and the OpenAPI document (served and in
docs/) agrees with the template's routes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfnlint.api import lint_file
from jsonschema import Draft202012Validator

from local.openapi import OPENAPI_FILE, build_openapi
from local.stack import ROOT, load_stack
from local.testing import notifiable_cloud
from tests.integration.sample_events import World, render

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


DOC = json.loads(OPENAPI_FILE.read_text())
# What a task, stream or queue event's function documents it returns (module docstrings), given the event's values.
STREAM_OK = {"batchItemFailures": []}


def _returns(name: str, result: Any, values: dict[str, str]) -> None:
    def campaign(key: str = "<id of a live campaign>") -> str:
        return values[key]

    expected: dict[str, Callable[[Any], bool]] = {
        "analytics_rollup": lambda r: r["date"] == "2026-11-26" and {"stores", "campaigns", "totals"} <= set(r),
        "campaign_end": lambda r: r == {"campaign_id": campaign("<id of a live campaign at its end>"),
                                        "status": "ended"},
        "campaign_go_live": lambda r: r["campaign_id"] == campaign() and r["status"] == "live",
        "campaign_notify": lambda r: r["campaign_id"] == campaign() and r["cursor"] is None and r["queued"] >= 0,
        "campaign_remind": lambda r: r["campaign_id"] == campaign() and r["cursor"] is None and r["queued"] >= 0,
        "campaign_release": lambda r: r["campaign_id"] == campaign("<id of an ended campaign>")
        and sum(r["released"].values()) > 0 and r["kept"] == [],
        "campaign_report": lambda r: r["campaign_id"] == campaign("<id of an ended campaign>")
        and r["report"] is not None,
        "campaign_warm": lambda r: r["campaign_id"] == campaign() and r["warmed"] is True,
        "coupon_expiry_reminders": lambda r: {"window", "candidates", "queued"} <= set(r),
        "expire_order": lambda r: r["order_id"] == values["<id of an unpaid order of the member>"]
        and r["outcome"] == "cancelled",
        "journeys_schedule": lambda r: isinstance(r["entered"], dict),
        "points_expiry": lambda r: r["finished"] is True,
        "segment_sizes": lambda r: isinstance(r["sizes"], dict),
        "settle_group": lambda r: r["group_id"] == values["<id of an open group>"] and r["outcome"] == "failed",
        "visit_reminders": lambda r: {"hour", "candidates", "queued"} <= set(r),
    }
    check = expected.get(name, lambda r: r == STREAM_OK)  # the stream and queue consumers: no failed record
    assert check(result), result


def _documented(event: dict[str, Any], result: dict[str, Any]) -> None:
    """A 2xx the route documents, with a body that validates against the route's schema in docs/openapi.json."""
    status = result["statusCode"]
    assert 200 <= status < 300, result
    op = DOC["paths"][event["resource"]][event["httpMethod"].lower()]
    assert str(status) in op["responses"], f"{status} is not documented: {result}"
    content = op["responses"][str(status)].get("content") or {}
    if "application/json" not in content:
        return
    body = json.loads(result["body"])
    schema = {**content["application/json"]["schema"], "components": DOC["components"]}
    Draft202012Validator(schema).validate(body)


def _authorized_as_the_event_says(cloud: Any, event: dict[str, Any]) -> None:
    """The authorizer gives the event's token the context the event carries (so the sample is a real one)."""
    context = dict(event["requestContext"]["authorizer"])
    principal = context.pop("principalId")
    got = cloud.invoke("AuthorizerFunction", {
        "type": "REQUEST", "methodArn": "arn:aws:execute-api:ap-east-1:123456789012:local/dev/GET/stores",
        "resource": event["resource"], "httpMethod": event["httpMethod"], "headers": event["headers"]})
    assert (got["principalId"], got["context"]) == (principal, context)


def test_sample_event_invokes(wechat, subtests):
    """Every events/*.json succeeds against the demo seed (local/seed.py) plus what its scene makes
    (tests/integration/sample_events.py), with its <placeholders> filled in as events/README.md says: an HTTP
    event answers a documented 2xx whose body fits the route's schema; a task, stream or queue event returns
    what its function documents. Each mutating event has data of its own, so the events run in one stack."""
    with notifiable_cloud(wechat) as cloud:
        world = World(cloud, wechat.base_url)
        for lid in sorted(STACK.functions):
            name = STACK.functions[lid].code_uri.name
            with subtests.test(msg=name):
                event, values = render(world, name)
                http = "httpMethod" in event and event.get("type") != "REQUEST"
                if http and (event["requestContext"] or {}).get("authorizer"):
                    _authorized_as_the_event_says(cloud, event)
                with world.travel(world.ahead):
                    result = cloud.invoke(lid, event)
                if event.get("type") == "REQUEST":  # the authorizer
                    assert result["principalId"] == values["<member id of a member>"], result
                    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"
                elif http:
                    _documented(event, result)
                else:
                    _returns(name, result, values)


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
