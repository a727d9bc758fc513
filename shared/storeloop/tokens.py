"""Signed short-lived tokens (PyJWT, HS256): session tokens, coupon QR tokens and POS member codes."""

from __future__ import annotations

import time
import uuid

import jwt

from storeloop.caller import Caller

_ALG = "HS256"


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


def issue(key: str, typ: str, subject: str, ttl_seconds: int, now: float | None = None, **claims: object) -> str:
    iat = int(now if now is not None else time.time())
    payload = {"typ": typ, "sub": subject, "iat": iat, "exp": iat + ttl_seconds, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(payload, key, algorithm=_ALG)


def read(key: str, typ: str, token: str, leeway: int = 0) -> dict:
    try:
        claims = jwt.decode(token, key, algorithms=[_ALG], leeway=leeway,
                            options={"require": ["exp", "iat", "sub", "typ"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("invalid") from exc
    if claims.get("typ") != typ:
        raise TokenInvalid("wrong token type")
    return claims


def issue_session(key: str, caller: Caller, ttl_seconds: int) -> str:
    return issue(key, "session", caller.member_id, ttl_seconds, roles=list(caller.roles),
                 store_ids=list(caller.store_ids), staff_role=caller.staff_role)


def read_session(key: str, token: str) -> Caller:
    claims = read(key, "session", token)
    return Caller(member_id=claims["sub"], roles=tuple(claims.get("roles") or ("member",)),
                  store_ids=tuple(claims.get("store_ids") or ()), staff_role=claims.get("staff_role"))
