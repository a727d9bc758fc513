"""`make secrets ENV=<env>`: fill the deployed stack's WeChatSecret (the app secret and the WeChat Pay keys) from the
files WeChat hands out, checked before anything is written. Values already in the secret are kept unless given
again, so the app secret can go in first and WeChat Pay later. Functions pick the new values up within
SECRETS_TTL_SECONDS (5 minutes), without a redeploy.

Each value is read from a file or an environment variable (never a command-line argument: shell history):
  WECHAT_APP_SECRET_FILE / WECHAT_APP_SECRET        the mini-program's AppSecret
  PAY_MERCHANT_PRIVATE_KEY_FILE                     apiclient_key.pem (the merchant API certificate's key)
  PAY_MERCHANT_SERIAL_NO                            that certificate's serial number (40 hex digits)
  PAY_APIV3_KEY_FILE / PAY_APIV3_KEY                the APIv3 key (32 characters)
  PAY_PLATFORM_PUBLIC_KEY_FILE                      pub_key.pem (WeChat Pay's public key, to verify its answers)
  PAY_PLATFORM_SERIAL                               its id, PUB_KEY_ID_... (or a platform certificate serial)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploy.check import env_config
from deploy.transform import ROOT

FIELDS = {  # secret key -> (variable, file variable)
    "wechat_app_secret": ("WECHAT_APP_SECRET", "WECHAT_APP_SECRET_FILE"),
    "pay_merchant_private_key": (None, "PAY_MERCHANT_PRIVATE_KEY_FILE"),
    "pay_merchant_serial_no": ("PAY_MERCHANT_SERIAL_NO", None),
    "pay_apiv3_key": ("PAY_APIV3_KEY", "PAY_APIV3_KEY_FILE"),
    "pay_platform_public_key": (None, "PAY_PLATFORM_PUBLIC_KEY_FILE"),
    "pay_platform_serial": ("PAY_PLATFORM_SERIAL", None),
}
PAY_FIELDS = [k for k in FIELDS if k.startswith("pay_")]


class SecretProblem(ValueError):
    pass


def given_values(environ: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, (var, file_var) in FIELDS.items():
        if file_var and environ.get(file_var):
            path = Path(environ[file_var]).expanduser()
            if not path.is_file():
                raise SecretProblem(f"{file_var}: no such file {path}")
            text = path.read_text(encoding="utf-8")
            out[key] = text if "-----BEGIN" in text else text.strip()  # PEM kept whole, a bare value trimmed
        elif var and environ.get(var):
            out[key] = environ[var].strip()
    return out


def check_values(values: dict[str, str]) -> list[str]:
    """What is wrong with the merged secret; each message names the field, never the value."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    wrong = []
    app = values.get("wechat_app_secret", "")
    if app and not re.fullmatch(r"[0-9a-f]{32}", app):
        wrong.append("wechat_app_secret: the AppSecret is 32 hex digits")
    if any(values.get(k) for k in PAY_FIELDS):
        missing = [k for k in PAY_FIELDS if not values.get(k)]
        if missing:
            wrong.append(f"WeChat Pay needs all of its keys; missing: {', '.join(missing)}")
        if values.get("pay_merchant_private_key"):
            try:
                key = serialization.load_pem_private_key(values["pay_merchant_private_key"].encode(), None)
                if not isinstance(key, rsa.RSAPrivateKey):
                    wrong.append("pay_merchant_private_key: not an RSA key")
            except ValueError:
                wrong.append("pay_merchant_private_key: not an unencrypted PEM private key (apiclient_key.pem)")
        if values.get("pay_platform_public_key"):
            try:
                serialization.load_pem_public_key(values["pay_platform_public_key"].encode())
            except ValueError:
                wrong.append("pay_platform_public_key: not a PEM public key (pub_key.pem)")
        if values.get("pay_apiv3_key") and len(values["pay_apiv3_key"].encode()) != 32:
            wrong.append("pay_apiv3_key: the APIv3 key is 32 characters")
        if values.get("pay_merchant_serial_no") and not re.fullmatch(r"[0-9A-Fa-f]{8,64}",
                                                                     values["pay_merchant_serial_no"]):
            wrong.append("pay_merchant_serial_no: the certificate serial is hex digits")
    return wrong


def fill(client: Any, secret_arn: str, given: dict[str, str]) -> list[str]:
    """Merge the given values into the secret and write it; the keys written."""
    current = json.loads(client.get_secret_value(SecretId=secret_arn).get("SecretString") or "{}")
    merged = {**{k: "" for k in FIELDS}, **current, **given}
    wrong = check_values(merged)
    if wrong:
        raise SecretProblem("; ".join(wrong))
    client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(merged))
    return sorted(given)


def stack_secret_arn(cfn: Any, stack_name: str) -> str:
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    if "WeChatSecretArn" not in outputs:
        raise SecretProblem(f"stack {stack_name} has no WeChatSecretArn output: deploy it first (make deploy)")
    return outputs["WeChatSecretArn"]


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m deploy.secrets", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("env")
    ap.add_argument("--secret-arn", help="the secret to fill (default: the stack's WeChatSecretArn output)")
    args = ap.parse_args(argv)
    env = os.environ if environ is None else environ
    config = {**(env_config(ROOT / "samconfig.toml", args.env) or {}),
              **(env_config(ROOT / "samconfig.local.toml", args.env) or {})}
    if not config:
        print(f"no environment {args.env!r} in samconfig.toml", file=sys.stderr)
        return 2
    import boto3

    session = boto3.session.Session(region_name=str(config["region"]))
    try:
        given = given_values(env)
        if not given:
            print("nothing to fill: set the variables this command reads (python -m deploy.secrets --help)",
                  file=sys.stderr)
            return 2
        arn = args.secret_arn or stack_secret_arn(session.client("cloudformation"), str(config["stack_name"]))
        written = fill(session.client("secretsmanager"), arn, given)
    except SecretProblem as exc:
        print(f"not written: {exc}", file=sys.stderr)
        return 2
    print(f"{arn}: wrote {', '.join(written)}; functions read it within 5 minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
