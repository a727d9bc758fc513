"""The REQUEST authorizer: a valid session token of a member who still exists allows the call.

Besides the signature and expiry, one strongly consistent GetItem (the profile's status, projected) refuses the
tokens of an erased member at once: once DELETE /me has answered, the old token gets 401. No in-memory cache of
the answer: a cache would let an erased member's token through on every warm container for its lifetime, and
the read costs one small RCU (API Gateway's own authorizer cache is off for the same reason: ReauthorizeEvery 0).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from storeloop import tokens
from storeloop.data.access import member_status
from storeloop.data.connection import dynamodb_client
from storeloop.settings import get_settings

logger = Logger(service="storeloop")
get_settings()  # fail at cold start on a missing signing key
dynamodb_client()  # and make the DynamoDB client now, not on the first request (botocore only, no pynamodb)

ERASE_ROUTE = ("DELETE", "/me")  # still open while an erasure is under way, so a failed one can be run again


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


def _member_may_call(member_id: str, event: dict) -> bool:
    status = member_status(member_id)
    if status == "active":
        return True
    return status == "erasing" and (event.get("httpMethod"), event.get("resource")) == ERASE_ROUTE


def lambda_handler(event: dict, context: Any) -> dict:
    token = _bearer(event)
    if token is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 (GatewayResponses UNAUTHORIZED)
    try:
        caller = tokens.read_session(get_settings().token_signing_key, token)
    except tokens.TokenInvalid as exc:
        logger.info("token rejected", extra={"reason": type(exc).__name__})
        raise Exception("Unauthorized") from None
    if not _member_may_call(caller.member_id, event):
        logger.info("token rejected", extra={"reason": "member_erased", "member_id": caller.member_id})
        raise Exception("Unauthorized")
    return {
        "principalId": caller.member_id,
        "policyDocument": _policy("Allow", event.get("methodArn", "")),
        "context": {"member_id": caller.member_id, "roles": ",".join(caller.roles),
                    "store_ids": ",".join(caller.store_ids), "staff_role": caller.staff_role or ""},
    }
