"""WeChat mini-program login: `jscode2session` turns a `wx.login` code into the shopper's openid."""

from __future__ import annotations

from dataclasses import dataclass

from storeloop.wechat.http import call


class WeChatLoginRejected(Exception):
    def __init__(self, errcode: int) -> None:
        self.errcode = errcode
        super().__init__(f"errcode {errcode}")


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str  # never leaves the backend; we do not store it
    unionid: str | None = None

    def __repr__(self) -> str:  # keep identifiers out of logs and tracebacks
        return "WeChatSession(<redacted>)"


def jscode2session(base_url: str, appid: str, secret: str, code: str) -> WeChatSession:
    data = call("GET", f"{base_url.rstrip('/')}/sns/jscode2session",
                query={"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"})
    errcode = int(data.get("errcode") or 0)
    if errcode or not data.get("openid"):
        raise WeChatLoginRejected(errcode or -1)
    return WeChatSession(openid=str(data["openid"]), session_key=str(data.get("session_key", "")),
                         unionid=data.get("unionid"))
