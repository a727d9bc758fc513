"""WeChat Pay locally: the settings naming the test merchant of local/keys (never deployed), and a test stack
the Pay fake can notify over HTTP.

In AWS these come from the template (PAY_MCHID, PAY_BASE_URL, PAY_NOTIFY_URL) and the WeChatSecret (keys and
serials); locally the local cloud sets PAY_BASE_URL and PAY_NOTIFY_URL itself, and this adds the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

KEYS_DIR = Path(__file__).resolve().parent / "keys"


@lru_cache(maxsize=1)
def _read(keys_dir: Path) -> tuple[tuple[str, str], ...]:
    ids = json.loads((keys_dir / "test_pay.json").read_text(encoding="utf-8"))
    return (
        ("PAY_MCHID", ids["mchid"]),
        ("WECHAT_APPID", ids["appid"]),
        ("PAY_MERCHANT_SERIAL_NO", ids["merchant_serial_no"]),
        ("PAY_MERCHANT_PRIVATE_KEY", (keys_dir / "merchant_private_key.pem").read_text(encoding="ascii")),
        ("PAY_PLATFORM_SERIAL", ids["platform_serial"]),
        ("PAY_PLATFORM_PUBLIC_KEY", (keys_dir / "platform_public_key.pem").read_text(encoding="ascii")),
        ("PAY_APIV3_KEY", ids["apiv3_key"]),
    )


def local_pay_env(keys_dir: Path = KEYS_DIR) -> dict[str, str]:
    """Env vars naming the test merchant: the local API then trusts exactly the Pay fake's platform key."""
    return dict(_read(Path(keys_dir)))


@contextmanager
def notifiable_cloud(wechat: Any, overrides: dict[str, str] | None = None) -> Iterator[Any]:
    """A local stack whose API also listens on a loopback port, so the Pay fake's notifications reach it over HTTP.

    For tests: `wechat` is the running WeChatFake (its Pay fake notifies the notify_url the stack registered).
    On exit, waits for the payment flows still running (short test timeouts) and the fake's refund deliveries,
    so nothing of this stack runs on into the next one.
    """
    from local.apigw import ApiGateway
    from local.cloud import LocalCloud
    from local.server import ApiServer

    server = ApiServer(None, "127.0.0.1", 0).start()  # type: ignore[arg-type]
    cloud = LocalCloud(wechat_base=wechat.base_url, api_base=server.base_url,
                       overrides={**local_pay_env(), **(overrides or {})})
    try:
        cloud.start()
        server.gateway = ApiGateway(cloud)
        yield cloud
        if wechat.pay is not None:
            wechat.pay.wait_for_deliveries(5.0)
        wait_for_payment_flows(cloud, 10.0)
    finally:
        cloud.stop()
        server.stop()


def wait_for_payment_flows(cloud: Any, timeout: float) -> bool:
    """Block until no order payment execution is running (only worth it with a short payment timeout)."""
    import boto3

    from local.cloud import REGION

    if int(cloud.environment.get("ORDER_PAYMENT_TIMEOUT_SECONDS", "900")) > timeout:
        return False
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = cloud.ref("OrderPaymentStateMachine")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
            return True
        time.sleep(0.1)
    return False
