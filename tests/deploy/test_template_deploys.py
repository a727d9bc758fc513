"""The template as CloudFormation gets it, after the SAM transform (offline): no circular dependency, cfn-lint clean,
for the default environment and for AWS China; one stage, a regional API, data kept on delete, and what China lacks
(X-Ray for Lambda, edge-optimized APIs, the aws partition and amazonaws.com) left out there."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from typing import Any

import pytest

from deploy.check import parse_overrides
from deploy.transform import ROOT, lint, snapstart_in_china, source, transformed
from local.stack import LOCAL_PARAMETERS, Resolver, load_stack

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())
# The brand's values for the required parameters, as samconfig.local.toml would give them.
BRAND = {"WeChatAppId": "wx0123456789abcdef", "AdminOpenIds": "oAdmin1,oAdmin2", "PayMchId": "1900000109",
         "VisitReminderTemplateId": "tpl-visit-1"}
DOMAIN = {"ApiDomainName": "api.brand.cn", "ApiBasePath": "v1"}


def _env(name: str) -> tuple[str, dict[str, str]]:
    cfg = SAMCONFIG[name]["deploy"]["parameters"]
    params = {**parse_overrides(cfg["parameter_overrides"]), **BRAND}
    if cfg["region"].startswith("cn-"):
        params |= DOMAIN | {"ApiCertificateArn": f"arn:aws-cn:acm:{cfg['region']}:123456789012:certificate/x"}
    return cfg["region"], params


ENVIRONMENTS = ["dev", "prod-cn"]


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    for name in ENVIRONMENTS:
        region, params = _env(name)
        out[name] = (region, transformed(region, params))
    return out


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, str):
        return [(path, node)]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [s for i, v in enumerate(node) for s in _strings(v, f"{path}/{i}")]
    return []


def test_samconfig_has_a_china_environment():
    region, _ = _env("prod-cn")
    assert region in ("cn-north-1", "cn-northwest-1")


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_transformed_template_has_no_circular_dependency_and_lints_clean(built, name):
    region, doc = built[name]
    matches = lint(doc, region)
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == [], "\n".join(errors)


# The shopper's loop, on demand: SnapStart restores them instead of an init (docs/capacity.md). The claim path
# (claim, authorizer, a flash sale's order) is provisioned by the warm flow instead: a version has one or the other.
SNAPSTART = {"LoginFunction", "GetSceneFunction", "ListCampaignsFunction", "GetCampaignFunction",
             "ListMyCouponsFunction", "CouponQrFunction", "VerifyCouponFunction", "BookAppointmentFunction",
             "CreateOrderFunction", "WeChatPayWebhookFunction", "GetMeFunction", "GetGroupFunction"}
PROVISIONED = {"ClaimCouponFunction", "AuthorizerFunction", "BuyFlashSaleFunction"}
RESOURCE_LIMIT = 500  # CloudFormation's per-stack limit


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_snapstart_where_it_pays_never_with_provisioning_and_never_in_china(built, name):
    region, doc = built[name]
    functions = {lid: res for lid, res in doc["Resources"].items() if res["Type"] == "AWS::Lambda::Function"}
    snap = {lid for lid, res in functions.items() if "SnapStart" in res["Properties"]}
    assert snap == SNAPSTART and not snap & PROVISIONED
    assert snapstart_in_china(doc) == []  # each is Fn::If [InChina, AWS::NoValue, {ApplyOn: PublishedVersions}]
    for lid in snap:
        assert functions[lid]["Properties"]["SnapStart"]["Fn::If"][2] == {"ApplyOn": "PublishedVersions"}
    aliased = {res["Properties"]["FunctionName"]["Ref"] for res in doc["Resources"].values()
               if res["Type"] == "AWS::Lambda::Alias"}
    assert SNAPSTART | PROVISIONED <= aliased  # SnapStart and provisioned concurrency both act on a published version
    resolver = Resolver(load_stack(), region, {}, partition="aws-cn" if region.startswith("cn-") else "aws")
    assert resolver.condition("InChina") is (name == "prod-cn")
    assert len(doc["Resources"]) <= RESOURCE_LIMIT - 60, "keep room under CloudFormation's 500 resources"


def test_the_china_check_sees_snapstart_left_on():
    doc = source()
    doc["Resources"]["HealthFunction"]["Properties"]["SnapStart"] = {"ApplyOn": "PublishedVersions"}
    doc["Resources"]["HealthFunction"]["Properties"]["AutoPublishAlias"] = "live"
    assert snapstart_in_china(transformed("cn-northwest-1", BRAND | DOMAIN, doc=doc)) == ["HealthFunction"]


def test_the_check_sees_the_cycle_the_source_lint_misses():
    """The old notify URL (from the API's own id) is a cycle only the transformed template shows."""
    doc = source()
    env = doc["Globals"]["Function"]["Environment"]["Variables"]
    env["PAY_NOTIFY_URL"] = {"Fn::Sub": "https://${StoreLoopApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/x"}
    errors = {m.rule.id for m in lint(transformed("ap-east-1", BRAND, doc=doc), "ap-east-1")}
    assert "E3004" in errors


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_one_throttled_stage_and_a_regional_api(built, name):
    _, doc = built[name]
    res = doc["Resources"]
    stages = [v for v in res.values() if v["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 1 and stages[0]["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] > 0
    # A Deployment with a StageName makes a second stage ("Stage") serving every route unthrottled.
    deployments = [v for v in res.values() if v["Type"] == "AWS::ApiGateway::Deployment"]
    assert deployments and all("StageName" not in d["Properties"] for d in deployments)
    (api,) = [v for v in res.values() if v["Type"] == "AWS::ApiGateway::RestApi"]
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_tables_and_secrets_are_kept_on_delete_and_replacement(built, name):
    _, doc = built[name]
    kept = {k: v for k, v in doc["Resources"].items()
            if v["Type"] in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret")}
    assert {"MainTable", "IdempotencyTable", "SigningKeySecret", "DataKeySecret", "WeChatSecret"} <= set(kept)
    for lid, res in kept.items():
        assert res.get("DeletionPolicy") == "Retain" and res.get("UpdateReplacePolicy") == "Retain", lid
    main = doc["Resources"]["MainTable"]["Properties"]
    assert main["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_china_template_names_no_aws_partition_or_global_domain(built):
    _, doc = built["prod-cn"]
    bad = [(p, s) for p, s in _strings(doc["Resources"]) + _strings(doc["Outputs"], "/Outputs")
           if ("arn:aws:" in s or re.search(r"amazonaws\.com(?!\.cn)", s))
           and "/Principal/Service" not in p and not p.endswith("/Principal")]  # service principals: same in China
    assert bad == []
    definitions = [v["Properties"] for v in doc["Resources"].values()
                   if v["Type"] == "AWS::StepFunctions::StateMachine"]
    assert definitions and all("arn:${AWS::Partition}:states:::lambda:invoke" in json.dumps(d) for d in definitions)


def test_asl_definitions_take_the_partition_from_the_template():
    for path in (ROOT / "statemachines").glob("*.asl.json"):
        text = path.read_text()
        assert "arn:aws:" not in text, path.name
        assert "${LambdaInvoke}" in text, path.name


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_xray_only_where_it_exists(built, name):
    """Lambda, API Gateway and Step Functions tracing all hang on the Traced condition (false in aws-cn)."""
    _, doc = built[name]
    region = _env(name)[0]
    resolver = Resolver(load_stack(), region, {}, partition="aws-cn" if region.startswith("cn-") else "aws")
    assert resolver.condition("Traced") is (name != "prod-cn")
    for lid, res in doc["Resources"].items():
        props = res.get("Properties") or {}
        if res["Type"] == "AWS::Lambda::Function":
            assert props["TracingConfig"] == {"Mode": {"Fn::If": ["Traced", "Active", {"Ref": "AWS::NoValue"}]}}, lid
        if res["Type"] == "AWS::ApiGateway::Stage":
            assert props["TracingEnabled"] == {"Fn::If": ["Traced", True, False]}, lid
        if res["Type"] == "AWS::StepFunctions::StateMachine":
            assert props["TracingConfiguration"] == {"Enabled": {"Fn::If": ["Traced", True, False]}}, lid


def _resolver(**params: str) -> Resolver:
    stack = load_stack()
    return Resolver(dataclasses.replace(stack, parameters={**stack.parameters, **params}), "ap-east-1", {})


def test_api_url_output_uses_the_partition_domain():
    url = source()["Outputs"]["ExecuteApiUrl"]["Value"]
    stack = load_stack()
    assert Resolver(stack, "cn-northwest-1", {"StoreLoopApi": {"Ref": "abc123"}}, partition="aws-cn").resolve(url) \
        == "https://abc123.execute-api.cn-northwest-1.amazonaws.com.cn/dev"
    assert Resolver(stack, "ap-east-1", {"StoreLoopApi": {"Ref": "abc123"}}).resolve(url) \
        == "https://abc123.execute-api.ap-east-1.amazonaws.com/dev"


def test_notify_url_comes_from_the_domain_or_the_parameter():
    env = source()["Globals"]["Function"]["Environment"]["Variables"]["PAY_NOTIFY_URL"]
    assert _resolver(ApiDomainName="api.brand.cn", ApiBasePath="v1").resolve(env) == \
        "https://api.brand.cn/v1/webhooks/wechatpay"
    assert _resolver(ApiDomainName="api.brand.cn", ApiBasePath="").resolve(env) == \
        "https://api.brand.cn/webhooks/wechatpay"
    assert _resolver(ApiDomainName="", PayNotifyUrl="https://pay.brand.com/webhooks/wechatpay").resolve(env) == \
        "https://pay.brand.com/webhooks/wechatpay"


def test_custom_domain_only_with_a_domain(built):
    for name, (_, doc) in built.items():
        for lid in ("ApiDomain", "ApiDomainMapping"):
            assert doc["Resources"][lid]["Condition"] == "HasApiDomain", (name, lid)
        mapping = doc["Resources"]["ApiDomainMapping"]["Properties"]
        assert mapping["Stage"] == {"Ref": next(k for k, v in doc["Resources"].items()
                                                if v["Type"] == "AWS::ApiGateway::Stage")}
    assert doc["Outputs"]["ApiDomainTarget"]["Condition"] == "HasApiDomain"


def test_required_parameters_have_no_made_up_defaults():
    params = source()["Parameters"]
    for name in ("WeChatAppId", "AdminOpenIds", "PayMchId", "VisitReminderTemplateId"):
        assert "Default" not in params[name], name
        assert name in LOCAL_PARAMETERS  # the local cloud's own values
    schedule = load_stack().resources("AWS::Serverless::Function")["VisitRemindersFunction"]
    assert schedule["Properties"]["Events"]["Hourly"]["Properties"]["Input"] == \
        {"Fn::Sub": '{"template_id": "${VisitReminderTemplateId}"}'}


def test_an_output_names_the_secret_to_fill():
    outputs = source()["Outputs"]
    assert outputs["WeChatSecretArn"]["Value"] == {"Ref": "WeChatSecret"}
    initial = json.loads(source()["Resources"]["WeChatSecret"]["Properties"]["SecretString"])
    from deploy.secrets import FIELDS

    assert set(initial) == set(FIELDS) and set(initial.values()) == {""}


def _render(template: str, message: str, request_id: str) -> str:
    """API Gateway's substitution: messageString is the message as a quoted JSON string, requestId raw."""
    return (template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.requestId", request_id))


def test_every_gateway_response_is_the_error_envelope_in_valid_json():
    responses = load_stack().gateway_responses
    assert "DEFAULT_4XX" in responses
    for kind, spec in responses.items():
        body = _render(spec["ResponseTemplates"]["application/json"], 'Invalid "request" body\\', "req-1")
        error = json.loads(body)["error"]
        assert error["request_id"] == "req-1" and error["code"] and error["message"], kind
    default = json.loads(_render(responses["DEFAULT_4XX"]["ResponseTemplates"]["application/json"],
                                 'Invalid "request" body', "r"))
    assert default["error"]["message"] == 'Invalid "request" body'
