"""The REQUEST authorizer: a valid session token of a member who still exists allows the call.

Besides the signature and expiry, one strongly consistent GetItem (the profile's status and staff access,
projected) refuses the tokens of an erased member at once: once DELETE /me has answered, the old token gets 401.
The same read gives the member's staff access as stored now, which replaces the token's (`_roles`): a staff
member revoked by DELETE /admin/staff/{id} acts without the staff role from the next request, with any token.
No in-memory cache of the answer here: API Gateway caches it per token (ReauthorizeEvery 300, template.yaml), so
this runs once per token and five minutes, and every change of access (DELETE /admin/staff, POST /admin/staff,
DELETE /me) flushes the stage's cache at once (services/access.py `on_access_revoked`). The policy allows the
whole API: a cached policy is reused for every route with that token.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from storeloop import tokens
from storeloop.auth_settings import get_auth_settings
from storeloop.caller import Caller
from storeloop.data.access import MemberAccess, member_access
from storeloop.data.connection import aws_client

# The hottest cold start of the API imports only what one HMAC and one GetItem need: no pydantic (typed settings),
# no Powertools Logger (stdlib logging; Lambda's runtime adds the request id), no PyJWT (storeloop.tokens).
logger = logging.getLogger("storeloop.authorizer")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")
_settings = get_auth_settings()  # fail at cold start on a missing signing key
aws_client("dynamodb", _settings.region, _settings.dynamodb_endpoint)  # the client now, not at the first request

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


def _member_may_call(access: MemberAccess, event: dict) -> bool:
    if access.status == "active":
        return True
    return access.status == "erasing" and (event.get("httpMethod"), event.get("resource")) == ERASE_ROUTE


def _roles(caller: Caller, access: MemberAccess) -> Caller:
    """The caller with the staff access stored now (once the profile keeps it) in place of the token's."""
    if access.access_version is None:
        return caller  # a profile whose access never changed since it is kept there: the token's roles stand
    roles = [r for r in caller.roles if r != "staff"]
    if access.staff_role and access.staff_store_ids:
        roles.insert(1 if roles[:1] == ["member"] else 0, "staff")
        return Caller(caller.member_id, tuple(roles), access.staff_store_ids, access.staff_role)
    return Caller(caller.member_id, tuple(roles), (), None)


def lambda_handler(event: dict, context: Any) -> dict:
    token = _bearer(event)
    if token is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 (GatewayResponses UNAUTHORIZED)
    try:
        settings = get_auth_settings()  # kept; re-read after the secrets' TTL (a rotated signing key)
        caller = tokens.read_session(settings.token_signing_key, token)
    except tokens.TokenInvalid as exc:
        logger.info("token rejected: %s", type(exc).__name__)
        raise Exception("Unauthorized") from None
    access = member_access(caller.member_id, settings.table_name)
    if access is None or not _member_may_call(access, event):
        logger.info("token rejected: member_erased %s", caller.member_id)
        raise Exception("Unauthorized")
    caller = _roles(caller, access)
    return {
        "principalId": caller.member_id,
        "policyDocument": _policy("Allow", event.get("methodArn", "")),
        "context": {"member_id": caller.member_id, "roles": ",".join(caller.roles),
                    "store_ids": ",".join(caller.store_ids), "staff_role": caller.staff_role or ""},
    }
