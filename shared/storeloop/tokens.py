"""Signed short-lived tokens (JWT, HS256): session tokens, coupon QR tokens and POS member codes.

JWTs of one algorithm, made and checked with the standard library's hmac: PyJWT (which loads `cryptography` for
the algorithms we never use) cost ~30 ms of every authorizer cold start for one HMAC. The checks are PyJWT's
for HS256: the header's `alg` must be HS256 (no `none`, no key confusion), the signature compared in constant
time, `exp`/`iat`/`sub`/`typ` required, `exp` and `nbf` with the leeway, `iat` a number and not in the future.
tests/unit/test_tokens.py keeps PyJWT as the oracle: tokens of either read by the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

from storeloop.caller import Caller

_ALG = "HS256"
_HEADER = json.dumps({"alg": _ALG, "typ": "JWT"}, separators=(",", ":")).encode()
_REQUIRED = ("exp", "iat", "sub", "typ")


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


def issue(key: str, typ: str, subject: str, ttl_seconds: int, now: float | None = None, **claims: object) -> str:
    iat = int(now if now is not None else time.time())
    payload = {"typ": typ, "sub": subject, "iat": iat, "exp": iat + ttl_seconds, "jti": uuid.uuid4().hex, **claims}
    return _encode(payload, key)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    if not part.isascii():
        raise TokenInvalid("invalid")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:
        raise TokenInvalid("invalid") from None


def _sign(signing_input: bytes, key: str) -> bytes:
    return hmac.new(key.encode(), signing_input, hashlib.sha256).digest()


def _encode(payload: dict, key: str) -> str:
    signing_input = f"{_b64(_HEADER)}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}".encode()
    return f"{signing_input.decode()}.{_b64(_sign(signing_input, key))}"


def _number(claims: dict, name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid("invalid")
    return float(value)


def _decode(token: str, key: str, leeway: int) -> dict:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise TokenInvalid("invalid")
    header_part, payload_part, signature_part = parts
    try:
        header = json.loads(_unb64(header_part))
        claims = json.loads(_unb64(payload_part))
    except ValueError:
        raise TokenInvalid("invalid") from None
    if not isinstance(header, dict) or header.get("alg") != _ALG or not isinstance(claims, dict):
        raise TokenInvalid("invalid")
    expected = _sign(f"{header_part}.{payload_part}".encode(), key)
    if not hmac.compare_digest(expected, _unb64(signature_part)):
        raise TokenInvalid("invalid")
    if any(name not in claims for name in _REQUIRED) or not isinstance(claims["sub"], str):
        raise TokenInvalid("invalid")
    now = time.time()
    if _number(claims, "exp") <= now - leeway:
        raise TokenExpired("expired")
    if _number(claims, "iat") > now + leeway:
        raise TokenInvalid("invalid")  # issued in the future
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise TokenInvalid("invalid")
    return claims


def read(key: str, typ: str, token: str, leeway: int = 0) -> dict:
    claims = _decode(token, key, leeway)
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
