"""storeloop.tokens signs HS256 JWTs with hmac; PyJWT is the oracle: each reads the other's, and refuses alike."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from storeloop import tokens

KEY = "k" * 40


def _forge(header: dict, payload: dict, key: str = KEY) -> str:
    import hashlib
    import hmac

    b64 = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")  # noqa: E731
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    sig = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def _claims(**over: object) -> dict:
    now = int(time.time())
    return {"typ": "session", "sub": "m_1", "iat": now, "exp": now + 60, **over}


def test_our_tokens_verify_with_pyjwt_and_pyjwt_tokens_with_ours():
    ours = tokens.issue(KEY, "session", "m_1", 60, roles=["member"])
    decoded = jwt.decode(ours, KEY, algorithms=["HS256"])
    assert decoded["sub"] == "m_1" and decoded["roles"] == ["member"] and decoded["exp"] - decoded["iat"] == 60
    theirs = jwt.encode(_claims(roles=["staff"]), KEY, algorithm="HS256")
    assert tokens.read(KEY, "session", theirs)["roles"] == ["staff"]


def test_a_token_signed_with_another_key_or_altered_is_refused():
    token = tokens.issue(KEY, "session", "m_1", 60)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read("x" * 40, "session", token)
    head, payload, sig = token.split(".")
    other = base64.urlsafe_b64encode(json.dumps(_claims(sub="m_2")).encode()).decode().rstrip("=")
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(KEY, "session", f"{head}.{other}.{sig}")


@pytest.mark.parametrize("header", [{"alg": "none", "typ": "JWT"}, {"alg": "HS512", "typ": "JWT"},
                                    {"alg": "RS256", "typ": "JWT"}, {"typ": "JWT"}])
def test_only_hs256_is_accepted(header):
    token = _forge(header, _claims())
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(KEY, "session", token)
    with pytest.raises(jwt.PyJWTError):  # the oracle agrees
        jwt.decode(token, KEY, algorithms=["HS256"])


@pytest.mark.parametrize("claims", [
    {k: v for k, v in _claims().items() if k != "exp"},
    {k: v for k, v in _claims().items() if k != "iat"},
    {k: v for k, v in _claims().items() if k != "sub"},
    _claims(exp="tomorrow"), _claims(iat="yesterday"), _claims(sub=7),
    _claims(iat=int(time.time()) + 3600), _claims(nbf=int(time.time()) + 3600),
])
def test_missing_or_malformed_claims_are_refused_as_pyjwt_refuses_them(claims):
    token = _forge({"alg": "HS256", "typ": "JWT"}, claims)
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(KEY, "session", token)
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(token, KEY, algorithms=["HS256"], options={"require": ["exp", "iat", "sub", "typ"]})


def test_expiry_with_and_without_leeway():
    token = tokens.issue(KEY, "session", "m_1", 10, now=time.time() - 20)
    with pytest.raises(tokens.TokenExpired):
        tokens.read(KEY, "session", token)
    assert tokens.read(KEY, "session", token, leeway=30)["sub"] == "m_1"


@pytest.mark.parametrize("garbage", ["", "a.b", "a.b.c.d", "not-a-jwt", "ü.ü.ü", "e30.e30.", "W10.W10.x"])
def test_garbage_is_invalid_never_an_exception_of_another_kind(garbage):
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(KEY, "session", garbage)


def test_the_wrong_type_is_refused():
    with pytest.raises(tokens.TokenInvalid):
        tokens.read(KEY, "coupon_qr", tokens.issue(KEY, "session", "m_1", 60))
