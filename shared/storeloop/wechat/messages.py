"""WeChat subscription messages: the app's access token (cached, shared, refreshed) and `subscribe/send`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from storeloop.wechat.http import WeChatUnavailable, call

# errcodes WeChat answers when the access token is invalid (40001, 40014) or expired (42001):
# refresh the token and retry once.
TOKEN_REJECTED = frozenset({40001, 40014, 42001})
# The user holds no grant at WeChat for this template (or refused / unsubscribed): never retry.
NO_GRANT_AT_WECHAT = 43101


@dataclass(frozen=True)
class AccessToken:
    value: str
    valid_until: float  # epoch seconds
    generation: int  # which refresh produced it; a refresh replaces only the generation it saw

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs and tracebacks
        return f"AccessToken(<redacted>, generation={self.generation})"


class AccessTokenStore(Protocol):
    """Where the token is shared between containers (the table); `save` is False if another refresh won."""

    def load(self) -> AccessToken | None: ...

    def save(self, token: AccessToken, replaces: AccessToken | None) -> bool: ...


class WeChatMessageError(Exception):
    """The send failed in a way a later retry may fix (network, 5xx, busy, token trouble, other errcodes)."""

    def __init__(self, errcode: int, reason: str) -> None:
        self.errcode = errcode
        super().__init__(f"errcode {errcode}: {reason}")


@dataclass(frozen=True)
class SendResult:
    errcode: int  # 0 sent; 43101 no grant at WeChat
    msgid: str | None = None

    @property
    def sent(self) -> bool:
        return self.errcode == 0

    @property
    def no_grant(self) -> bool:
        return self.errcode == NO_GRANT_AT_WECHAT


class SubscribeMessageClient:
    """One per batch of sends: it keeps the token it loaded, so a batch reads the shared cache once."""

    def __init__(self, base_url: str, appid: str, secret: str, store: AccessTokenStore, *,
                 clock: Callable[[], float] = time.time, timeout: float = 3.0) -> None:
        self._base = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._store = store
        self._clock = clock
        self._timeout = timeout
        self._token: AccessToken | None = None
        self.token_fetches = 0  # how often this client asked WeChat for a token (for logs and tests)

    # ---------------------------------------------------------------- the access token
    def access_token(self) -> AccessToken:
        """A token valid now: the one in hand, else the shared one, else a new one from WeChat."""
        now = self._clock()
        if self._token is not None and self._token.valid_until > now:
            return self._token
        cached = self._store.load()
        if cached is not None and cached.valid_until > now:
            self._token = cached
            return cached
        return self._refresh(cached)

    def after_rejection(self, rejected: AccessToken) -> AccessToken:
        """A token to retry with after WeChat refused `rejected` (also used by `wechat.wxacode`)."""
        return self._after_rejection(rejected)

    def _after_rejection(self, rejected: AccessToken) -> AccessToken:
        """WeChat refused `rejected` (40001/42001): use a newer shared token if another container has one."""
        self._token = None
        cached = self._store.load()
        if cached is not None and cached.value != rejected.value and cached.valid_until > self._clock():
            self._token = cached
            return cached
        return self._refresh(cached)

    def _refresh(self, stale: AccessToken | None) -> AccessToken:
        data = self._get_token()
        expires_in = int(data.get("expires_in") or 7200)
        # Refresh a little before WeChat's expiry (up to 5 minutes), so no send goes out with a dying token.
        fresh = AccessToken(str(data["access_token"]),
                            self._clock() + expires_in - min(300, expires_in // 5),
                            (stale.generation + 1) if stale is not None else 1)
        if not self._store.save(fresh, stale):
            # Another container refreshed first. Ours is valid too (WeChat keeps the previous token working for a
            # while after a refresh), but theirs is the shared one: prefer it when it is valid.
            winner = self._store.load()
            if winner is not None and winner.valid_until > self._clock():
                fresh = winner
        self._token = fresh
        return fresh

    def _get_token(self) -> dict[str, Any]:
        self.token_fetches += 1
        try:
            data = call("GET", f"{self._base}/cgi-bin/token", timeout=self._timeout,
                        query={"grant_type": "client_credential", "appid": self._appid, "secret": self._secret})
        except WeChatUnavailable as exc:
            raise WeChatMessageError(-2, f"token endpoint unavailable ({exc})") from None
        errcode = int(data.get("errcode") or 0)
        if errcode or not data.get("access_token"):
            raise WeChatMessageError(errcode or -1, "no access token")
        return data

    # ---------------------------------------------------------------- sending
    def send(self, openid: str, template_id: str, data: dict[str, Any], page: str | None) -> SendResult:
        """Send one subscription message; a rejected token is refreshed and the send retried once.

        Returns the result for 0 (sent) and 43101 (no grant at WeChat); raises WeChatMessageError otherwise.
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        token = self.access_token()
        answer = self._post(token, body)
        errcode = int(answer.get("errcode") or 0)
        if errcode in TOKEN_REJECTED:
            answer = self._post(self._after_rejection(token), body)
            errcode = int(answer.get("errcode") or 0)
        if errcode in (0, NO_GRANT_AT_WECHAT):
            msgid = answer.get("msgid")
            return SendResult(errcode, str(msgid) if msgid is not None else None)
        # errmsg is not kept: WeChat may echo request fields in it, and this message reaches the logs.
        raise WeChatMessageError(errcode, "send refused")

    def _post(self, token: AccessToken, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return call("POST", f"{self._base}/cgi-bin/message/subscribe/send", query={"access_token": token.value},
                        body=body, timeout=self._timeout)
        except WeChatUnavailable as exc:
            raise WeChatMessageError(-2, f"send endpoint unavailable ({exc})") from None
