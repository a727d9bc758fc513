"""The REQUEST authorizer: a valid session token allows the call and passes the caller to the handler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from storeloop import tokens
from storeloop.settings import get_settings

logger = Logger(service="storeloop")
get_settings()  # fail at cold start on a missing signing key


def _policy(effect: str, method_arn: str) -> dict[str, Any]:
    # Allow the whole API for this caller: handlers check roles and stores per route.
    arn = method_arn.split("/")
    resource = "/".join(arn[:2]) + "/*/*" if len(arn) >= 2 else method_arn
    return {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}


def _bearer(event: dict) -> str | None:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def lambda_handler(event: dict, context: Any) -> dict:
    token = _bearer(event)
    if token is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 (GatewayResponses UNAUTHORIZED)
    try:
        caller = tokens.read_session(get_settings().token_signing_key, token)
    except tokens.TokenInvalid as exc:
        logger.info("token rejected", extra={"reason": type(exc).__name__})
        raise Exception("Unauthorized") from None
    return {
        "principalId": caller.member_id,
        "policyDocument": _policy("Allow", event.get("methodArn", "")),
        "context": {"member_id": caller.member_id, "roles": ",".join(caller.roles),
                    "store_ids": ",".join(caller.store_ids), "staff_role": caller.staff_role or ""},
    }
