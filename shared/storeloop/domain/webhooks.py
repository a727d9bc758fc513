"""Outbound webhooks, the pure rules: event kinds, where an endpoint may point, signatures, ids, backoff, pausing."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

# Every kind an endpoint may subscribe to (API.md "Outbound webhooks"; member.updated/erased, pos.return: issue 15).
EVENT_TYPES = ("member.joined", "member.updated", "member.erased", "order.paid", "order.refunded",
               "coupon.redeemed", "pos.sale", "pos.return")

SECRET_GRACE = timedelta(hours=24)  # after a rotation the previous secret still signs this long
PAUSE_AFTER = timedelta(hours=24)  # an endpoint failing without a success for this long is paused
MAX_URL_LENGTH = 2048


class UrlRefused(ValueError):
    """The URL may not receive webhooks; the message says why (it goes into a 400's details)."""


Resolver = Callable[[str], Iterable[str]]  # host -> its IP addresses


def _refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified \
            or not ip.is_global:
        return "a private or reserved address"
    return None


def check_url(url: str, *, local: bool, resolve: Resolver) -> str:
    """The URL if an endpoint may point at it, else UrlRefused.

    In AWS: https only, and every address the host resolves to must be public (no loopback, private, link-local
    such as the instance metadata service, or reserved ranges). In the local cloud: also http, and loopback is
    allowed (the test receivers), other private ranges still refused. No credentials in the URL.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"a URL of 1-{MAX_URL_LENGTH} characters is required")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("not a valid URL") from None
    allowed = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed:
        raise UrlRefused("only https URLs may receive webhooks" if not local else "only http(s) URLs")
    host = parts.hostname
    if not host:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("credentials may not be part of the URL")
    if parts.fragment:
        raise UrlRefused("the URL may not have a fragment")
    if port == 0:
        raise UrlRefused("port 0 is not allowed")
    try:
        literal = ipaddress.ip_address(host)
        addresses: list[str] = [str(literal)]
    except ValueError:
        try:
            addresses = sorted(set(resolve(host)))
        except OSError:
            raise UrlRefused(f"the host {host} does not resolve") from None
        if not addresses:
            raise UrlRefused(f"the host {host} does not resolve") from None
    loopback_seen = False
    for raw in addresses:
        ip = ipaddress.ip_address(raw)
        reason = _refused_address(ip, allow_loopback=local)
        if reason:
            raise UrlRefused(f"the host resolves to {reason}")
        loopback_seen = loopback_seen or ip.is_loopback
    if parts.scheme == "http" and not loopback_seen:
        raise UrlRefused("http is allowed on loopback in the local cloud only; use https")
    return url


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-StoreLoop-Signature: hex HMAC-SHA256(secret, "<timestamp>.<body>") (the same scheme the POS uses)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: str, body: bytes) -> str:
    """The header value: the current secret's signature first, then (during a rotation's grace) the previous one,
    comma-separated. A receiver accepts the request when any of them matches the secret it holds."""
    return ",".join(signature(s, timestamp, body) for s in secrets)


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (tests and the README use it): any of the header's signatures matches."""
    expected = signature(secret, timestamp, body).encode()
    return any(hmac.compare_digest(expected, given.strip().lower().encode()) for given in header.split(","))


def event_id(kind: str, *key: str) -> str:
    """A stable event id: the same business event (kind + its key, e.g. the order id, or a stream record's
    sequence number for member.updated) always gets the same id, however often the stream delivers it."""
    digest = hashlib.sha256("\x1f".join((kind, *key)).encode()).hexdigest()
    return f"evt_{digest[:32]}"


def backoff_seconds(attempt: int, base: int = 30, cap: int = 900) -> int:
    """How long the delivery waits after failed attempt `attempt` (1-based): base·2^(attempt-1), at most `cap`
    (SQS allows a message's visibility to be pushed out at most 12 h; 15 min keeps the tail of retries frequent)."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    return int(min(cap, base * 2 ** min(attempt - 1, 20)))


def should_pause(failing_since: datetime | None, now: datetime, after: timedelta = PAUSE_AFTER) -> bool:
    """An endpoint that has failed every attempt since `failing_since` is paused once that is `after` ago."""
    return failing_since is not None and now - failing_since >= after
