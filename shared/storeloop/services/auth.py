"""Login: a wx.login code becomes our own member and a short-lived signed token."""

from __future__ import annotations

from storeloop import crypto, tokens
from storeloop.caller import Caller
from storeloop.data import members
from storeloop.errors import ApiError, UpstreamUnavailable
from storeloop.schemas.auth import LoginResponse
from storeloop.settings import Settings
from storeloop.wechat.auth import WeChatLoginRejected, jscode2session
from storeloop.wechat.http import WeChatUnavailable


class WeChatLoginFailed(ApiError):
    status, code, message = 401, "WECHAT_LOGIN_FAILED", "WeChat rejected the login code"


def login(settings: Settings, code: str) -> LoginResponse:
    try:
        session = jscode2session(settings.wechat_api_base, settings.wechat_appid, settings.wechat_app_secret, code)
    except WeChatLoginRejected:
        raise WeChatLoginFailed() from None
    except WeChatUnavailable:
        raise UpstreamUnavailable("WeChat login is unavailable, retry later") from None

    identity = members.find_or_create_member(
        crypto.keyed_hash(settings.data_key, session.openid, "openid"),
        crypto.encrypt(settings.data_key, session.openid, "openid"),
    )
    roles = ["member"]
    store_ids: list[str] = []
    staff_role = None
    staff = members.get_staff(identity.member_id)
    if staff is not None and staff.store_ids:
        roles.append("staff")
        store_ids = [str(s) for s in staff.store_ids]
        staff_role = staff.role
    if session.openid in settings.admin_openids:
        roles.append("admin")
    caller = Caller(identity.member_id, tuple(roles), tuple(store_ids), staff_role)
    token = tokens.issue_session(settings.token_signing_key, caller, settings.token_ttl_seconds)
    return LoginResponse(token=token, expires_in=settings.token_ttl_seconds, member_id=identity.member_id,
                         roles=roles, store_ids=store_ids)
