"""First-deploy configuration: `make deploy`'s parameter check, `make secrets`, and settings that pick up a secret
filled after the deploy (a TTL) with the project's botocore client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import check
from deploy import secrets as fill_secrets
from deploy.fake_secretsmanager import FakeSecretsManager
from deploy.transform import ROOT
from local.merchant_keys import KEYS_DIR, local_pay_env, merchant
from storeloop import settings as settings_module

BRAND = "WeChatAppId=wx0123456789abcdef PayMchId=1900000109 AdminOpenIds=oA,oB VisitReminderTemplateId=tpl-1"


def _check(tmp_path: Path, *args: str, local: str | None = None) -> subprocess.CompletedProcess[str]:
    local_file = tmp_path / "samconfig.local.toml"
    if local is not None:
        local_file.write_text(local)
    return subprocess.run([sys.executable, "-m", "deploy.check", *args, "--local", str(local_file)], cwd=ROOT,
                          capture_output=True, text=True)


def test_deploy_check_names_every_missing_required_parameter(tmp_path):
    done = _check(tmp_path, "dev")
    assert done.returncode == 2
    for name in ("WeChatAppId", "AdminOpenIds", "PayMchId", "VisitReminderTemplateId"):
        assert name in done.stderr
    assert "samconfig.local.toml" in done.stderr and done.stdout == ""


def test_deploy_check_passes_the_merged_overrides(tmp_path):
    local = f'[dev.deploy.parameters]\nparameter_overrides = "{BRAND} PointsPerYuan=2"\n'
    done = _check(tmp_path, "dev", "--params", "PointsPerYuan=3", local=local)
    assert done.returncode == 0, done.stderr
    values = check.parse_overrides(done.stdout.strip())
    assert values["Stage"] == "dev" and values["WeChatAppId"] == "wx0123456789abcdef"
    assert values["PointsPerYuan"] == "3"  # the command line wins over the local file, which wins over samconfig


def test_deploy_check_refuses_bad_values_and_unknown_names(tmp_path):
    done = _check(tmp_path, "dev", "--params", BRAND.replace("wx0123456789abcdef", "wxd0c0ffee") + " Nope=1")
    assert done.returncode == 2
    assert "WeChatAppId" in done.stderr and "Nope: not a parameter" in done.stderr


def test_china_needs_an_icp_domain_with_a_china_certificate(tmp_path):
    done = _check(tmp_path, "prod-cn", "--params", BRAND)
    assert done.returncode == 2 and "ApiDomainName" in done.stderr and "ICP" in done.stderr
    done = _check(tmp_path, "prod-cn", "--params", BRAND + " ApiDomainName=api.brand.cn "
                  "ApiCertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/x")
    assert done.returncode == 2 and "aws-cn" in done.stderr
    done = _check(tmp_path, "prod-cn", "--params", BRAND + " ApiDomainName=api.brand.cn "
                  "ApiCertificateArn=arn:aws-cn:acm:cn-northwest-1:123456789012:certificate/x")
    assert done.returncode == 0, done.stderr


def test_prod_needs_a_notify_url(tmp_path):
    done = _check(tmp_path, "prod", "--params", BRAND)
    assert done.returncode == 2 and "PayNotifyUrl" in done.stderr
    done = _check(tmp_path, "prod", "--params", BRAND + " PayNotifyUrl=https://pay.brand.com/webhooks/wechatpay")
    assert done.returncode == 0, done.stderr


def test_unknown_environment_lists_the_known_ones(tmp_path):
    done = _check(tmp_path, "staging")
    assert done.returncode == 2 and "dev, prod, prod-cn" in done.stderr


def test_make_deploy_stops_before_sam_naming_what_is_missing():
    done = subprocess.run(["make", "-s", "deploy", "ENV=dev"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0
    assert "missing parameters: WeChatAppId" in done.stderr
    assert "sam" not in done.stdout  # neither build nor deploy ran


@pytest.fixture
def secretsmanager():
    fake = FakeSecretsManager().start()
    yield fake
    fake.stop()


def _client(fake: FakeSecretsManager):
    from storeloop.data.connection import new_client

    return new_client("secretsmanager", "ap-east-1", fake.endpoint)


def _empty_wechat_secret(fake: FakeSecretsManager) -> str:
    return fake.create("WeChatSecret", {k: "" for k in fill_secrets.FIELDS})


def _pay_files(tmp_path: Path) -> dict[str, str]:
    ids = merchant()
    apiv3 = tmp_path / "apiv3.txt"
    apiv3.write_text(ids.apiv3_key + "\n")
    return {"PAY_MERCHANT_PRIVATE_KEY_FILE": str(KEYS_DIR / "merchant_private_key.pem"),
            "PAY_MERCHANT_SERIAL_NO": ids.merchant_serial_no, "PAY_APIV3_KEY_FILE": str(apiv3),
            "PAY_PLATFORM_PUBLIC_KEY_FILE": str(KEYS_DIR / "platform_public_key.pem"),
            "PAY_PLATFORM_SERIAL": ids.platform_serial}


def test_make_secrets_fills_in_steps_and_checks_before_writing(secretsmanager, tmp_path, monkeypatch):
    arn = _empty_wechat_secret(secretsmanager)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secretsmanager.endpoint)
    app_secret = "0123456789abcdef0123456789abcdef"
    assert fill_secrets.main(["dev", "--secret-arn", arn], {"WECHAT_APP_SECRET": app_secret}) == 0
    assert json.loads(secretsmanager.secrets[arn])["wechat_app_secret"] == app_secret
    # Half of WeChat Pay is refused, naming what is missing, and nothing is written.
    partial = {"PAY_MERCHANT_SERIAL_NO": "ABCDEF0123"}
    assert fill_secrets.main(["dev", "--secret-arn", arn], partial) == 2
    assert json.loads(secretsmanager.secrets[arn])["pay_merchant_serial_no"] == ""
    bad_key = tmp_path / "not_a_key.pem"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(fill_secrets.SecretProblem, match="pay_merchant_private_key"):
        fill_secrets.fill(_client(secretsmanager), arn, fill_secrets.given_values(
            {**_pay_files(tmp_path), "PAY_MERCHANT_PRIVATE_KEY_FILE": str(bad_key)}))
    # The whole merchant goes in; the app secret written before stays.
    assert fill_secrets.main(["dev", "--secret-arn", arn], _pay_files(tmp_path)) == 0
    stored = json.loads(secretsmanager.secrets[arn])
    assert stored["wechat_app_secret"] == app_secret
    assert stored["pay_merchant_private_key"] == merchant().merchant_private_key_pem
    pay = local_pay_env()
    assert stored["pay_apiv3_key"] == pay["PAY_APIV3_KEY"]
    assert stored["pay_platform_serial"] == pay["PAY_PLATFORM_SERIAL"]


def test_settings_pick_up_a_secret_filled_after_deploy_within_the_ttl(secretsmanager, monkeypatch):
    signing = secretsmanager.create("SigningKeySecret", {"token_signing_key": "s" * 64})
    data = secretsmanager.create("DataKeySecret", {"data_key": "d" * 64})
    wechat = _empty_wechat_secret(secretsmanager)
    for key, value in {"SECRET_ARNS": f"{signing},{data},{wechat}", "SECRETS_TTL_SECONDS": "300",
                       "AWS_ENDPOINT_URL_SECRETS_MANAGER": secretsmanager.endpoint, "AWS_ACCESS_KEY_ID": "x",
                       "AWS_SECRET_ACCESS_KEY": "x", "TOKEN_SIGNING_KEY": "", "DATA_KEY": "",
                       "WECHAT_APP_SECRET": "", "TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i"}.items():
        monkeypatch.setenv(key, value)
    now = [1000.0]
    monkeypatch.setattr(settings_module, "_clock", lambda: now[0])
    settings_module.reset_settings()
    try:
        first = settings_module.get_settings()
        assert first.wechat_app_secret == "" and first.token_signing_key == "s" * 64
        assert secretsmanager.reads[wechat] == 1
        secretsmanager.secrets[wechat] = json.dumps({"wechat_app_secret": "a" * 32})  # filled after deploy
        now[0] += 299
        assert settings_module.get_settings() is first and secretsmanager.reads[wechat] == 1  # warm: no read
        now[0] += 2
        fresh = settings_module.get_settings()
        assert fresh.wechat_app_secret == "a" * 32 and secretsmanager.reads[wechat] == 2
        now[0] += 301
        assert settings_module.get_settings() is fresh  # read again, unchanged: the same object
        # Secrets Manager down at a re-read: the last settings stay; the cold start would have failed.
        secretsmanager.stop()
        now[0] += 301
        assert settings_module.get_settings() is fresh
    finally:
        settings_module.reset_settings()


def test_settings_without_secret_arns_are_read_once(monkeypatch):
    for key, value in {"SECRET_ARNS": "", "TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i",
                       "TOKEN_SIGNING_KEY": "k" * 40, "DATA_KEY": "d" * 40}.items():
        monkeypatch.setenv(key, value)
    now = [0.0]
    monkeypatch.setattr(settings_module, "_clock", lambda: now[0])
    settings_module.reset_settings()
    try:
        first = settings_module.get_settings()
        now[0] += 10**9
        assert settings_module.get_settings() is first
    finally:
        settings_module.reset_settings()
