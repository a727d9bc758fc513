"""Pure pieces of the shared core and the local gateway: tokens, field encryption, settings, routing, policies."""

from __future__ import annotations

import json

import pytest

from local.apigw import _policy_allows
from local.stack import Route
from storeloop import crypto, tokens
from storeloop.api.pagination import decode_cursor, encode_cursor
from storeloop.caller import Caller
from storeloop.errors import ValidationFailed
from storeloop.settings import SettingsError, load_settings

KEY = "k" * 40
ENV = {"TABLE_NAME": "t", "IDEMPOTENCY_TABLE_NAME": "i", "TOKEN_SIGNING_KEY": KEY, "DATA_KEY": "d" * 40}


def test_session_token_round_trip_and_rejections():
    caller = Caller("m_1", ("member", "staff"), ("s1", "s2"), "manager")
    token = tokens.issue_session(KEY, caller, 60)
    assert tokens.read_session(KEY, token) == caller
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_session("x" * 40, token)
    with pytest.raises(tokens.TokenExpired):
        tokens.read_session(KEY, tokens.issue(KEY, "session", "m_1", 10, now=1_000))
    with pytest.raises(tokens.TokenInvalid):
        tokens.read_session(KEY, tokens.issue(KEY, "coupon_qr", "m_1", 60))


def test_caller_roles():
    manager = Caller("m", ("member", "staff"), ("s1",), "manager")
    clerk = Caller("m", ("member", "staff"), ("s1",), "clerk")
    assert manager.is_manager_of("s1") and not manager.is_manager_of("s2")
    assert clerk.is_staff_of("s1") and not clerk.is_manager_of("s1")
    assert not Caller("m").is_staff_of("s1") and Caller("m", ("member", "admin")).is_admin


def test_field_encryption_is_bound_to_key_and_purpose():
    ct = crypto.encrypt(KEY, "13800138000", "phone")
    assert "13800138000" not in ct
    assert crypto.decrypt(KEY, ct, "phone") == "13800138000"
    assert crypto.encrypt(KEY, "x", "phone") != crypto.encrypt(KEY, "x", "phone")  # random nonce
    with pytest.raises(Exception):
        crypto.decrypt(KEY, ct, "openid")
    with pytest.raises(Exception):
        crypto.decrypt("z" * 40, ct, "phone")
    assert crypto.keyed_hash(KEY, "o_1", "openid") == crypto.keyed_hash(KEY, "o_1", "openid")
    assert crypto.keyed_hash(KEY, "o_1", "openid") != crypto.keyed_hash("z" * 40, "o_1", "openid")


def test_settings_fail_fast_naming_the_missing_variable():
    assert load_settings(ENV).table_name == "t"
    with pytest.raises(SettingsError, match="TOKEN_SIGNING_KEY"):
        load_settings({k: v for k, v in ENV.items() if k != "TOKEN_SIGNING_KEY"})
    with pytest.raises(SettingsError, match="TOKEN_SIGNING_KEY"):
        load_settings(ENV | {"TOKEN_SIGNING_KEY": "short"})
    s = load_settings(ENV | {"ADMIN_OPENIDS": " a, b ,", "TIER_THRESHOLDS": '{"bronze": 0, "gold": 9}'})
    assert s.admin_openids == frozenset({"a", "b"}) and s.tier_thresholds == {"bronze": 0, "gold": 9}


def test_cursor_round_trip_and_garbage():
    key = {"PK": {"S": "MEMBER#m_1"}, "SK": {"S": "X"}}
    assert decode_cursor(encode_cursor(key)) == key
    assert encode_cursor(None) is None and decode_cursor(None) is None
    for bad in ("!!!", "bm90IGpzb24", "WzFd"):  # not base64, not JSON, a list
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)


def test_routes_match_path_parameters_and_prefer_literals():
    literal = Route("GET", "/me/coupons", "A", True)
    param = Route("GET", "/me/{thing}", "B", True)
    assert literal.regex.match("/me/coupons") and param.regex.match("/me/coupons")
    assert literal.specificity > param.specificity
    assert param.regex.match("/me/x").groupdict() == {"thing": "x"}
    assert not param.regex.match("/me/x/y")


def test_authorizer_policies_match_like_api_gateway():
    arn = "arn:aws:execute-api:r:1:api/stage/GET/stores"
    allow_all = {"Statement": [{"Effect": "Allow", "Resource": "arn:aws:execute-api:r:1:api/stage/*/*"}]}
    assert _policy_allows(allow_all, arn)
    deny = {"Statement": allow_all["Statement"] + [{"Effect": "Deny", "Resource": arn}]}
    assert not _policy_allows(deny, arn)
    assert not _policy_allows({"Statement": [{"Effect": "Allow", "Resource": "arn:other"}]}, arn)


def test_trusted_pay_platform_keys_are_a_json_object_of_serial_to_pem():
    pem = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"
    keys = {"PUB_KEY_ID_0114232134912410000000000000000002": pem, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1": pem}
    assert load_settings(ENV | {"PAY_PLATFORM_KEYS": json.dumps(keys)}).pay_platform_keys == keys
    assert load_settings(ENV).pay_platform_keys == {}
    for bad in ("[1, 2]", "not json", json.dumps({"../etc": pem}), json.dumps({"PUB_KEY_ID_1": "not a key"})):
        with pytest.raises((SettingsError, ValueError)):
            load_settings(ENV | {"PAY_PLATFORM_KEYS": bad})
