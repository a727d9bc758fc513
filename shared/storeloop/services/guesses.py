"""Failed guesses of secrets typed by people (pickup codes, coupon codes, member codes, exchange codes): limited per
caller and per target, so neither one clerk nor many clerks together can walk a code space.

One call for a route: `guarded(kind, caller_id, target_id, attempt)` runs `attempt()` unless the caller or the
target has used up its failures in the current window (then 429 RATE_LIMITED with Retry-After, and `attempt` is
not run: the right code is refused too); a failure of `attempt` that is a wrong guess (an error whose `code` is in
the kind's `failure_codes`) is counted for both, then re-raised. Successes write nothing.

Windows are fixed (`window_seconds`, aligned to the epoch); counters live in DynamoDB with a TTL
(`storeloop.data.guesses`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from storeloop.data import guesses
from storeloop.errors import RateLimited

T = TypeVar("T")


@dataclass(frozen=True)
class GuessLimit:
    per_caller: int  # failures one caller may make in a window
    per_target: int  # failures all callers together may make against one target in a window
    window_seconds: int
    failure_codes: frozenset[str]  # the error codes that mean "a wrong guess"
    caller_scope: str = "caller"
    target_scope: str = "target"


LIMITS: dict[str, GuessLimit] = {
    # target: the order. 6 digits; 5 wrong tries per order and 10 per clerk in 15 minutes.
    "pickup_code": GuessLimit(10, 5, 900, frozenset({"PICKUP_CODE_MISMATCH"}), "staff", "order"),
    # target: the store (a wrong code names no coupon). 12 digits or a signed QR.
    "coupon_code": GuessLimit(20, 50, 900, frozenset({"COUPON_NOT_FOUND"}), "staff", "store"),
    # caller and target: the store's till (a signed code that does not verify names no member).
    "member_code": GuessLimit(20, 20, 900, frozenset({"VALIDATION_FAILED"}), "store", "store"),
    # for exchange codes (points mall): caller the member or staff, target what the code is redeemed against.
    # exchange codes (issue 9): caller and target the shopper (a wrong code names no batch), so one shopper's
    # guesses never lock another out.
    "exchange_code": GuessLimit(10, 20, 900, frozenset({"CODE_NOT_FOUND"}), "member", "member_codes"),
}


_PLAIN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _subject(value: str) -> str:
    # A path id is checked by the route after this: an odd or huge one is hashed, never put raw in a key.
    return value if _PLAIN.match(value) else "h-" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]


def _keys(kind: str, limit: GuessLimit, caller_id: str, target_id: str, window: int) -> tuple[tuple[str, str], ...]:
    return (guesses.key(kind, limit.caller_scope, _subject(caller_id), window),
            guesses.key(kind, limit.target_scope, _subject(target_id), window))


def check(kind: str, caller_id: str, target_id: str, now: float | None = None) -> None:
    """429 RATE_LIMITED (Retry-After: the rest of the window) when the caller or the target is out of failures."""
    limit = LIMITS[kind]
    moment = time.time() if now is None else now
    window = int(moment) // limit.window_seconds * limit.window_seconds
    caller_key, target_key = _keys(kind, limit, caller_id, target_id, window)
    counts = guesses.failures(list(dict.fromkeys((caller_key, target_key))))
    if counts[caller_key] >= limit.per_caller or counts[target_key] >= limit.per_target:
        retry = max(1, window + limit.window_seconds - int(moment))
        raise RateLimited(f"too many failed {kind.replace('_', ' ')} attempts; retry in {retry} s",
                          headers={"Retry-After": str(retry)})


def record_failure(kind: str, caller_id: str, target_id: str, now: float | None = None) -> None:
    limit = LIMITS[kind]
    moment = time.time() if now is None else now
    window = int(moment) // limit.window_seconds * limit.window_seconds
    expires_at = window + 2 * limit.window_seconds
    for pk, sk in dict.fromkeys(_keys(kind, limit, caller_id, target_id, window)):
        guesses.add_failure(pk, sk, expires_at)


def guarded(kind: str, caller_id: str, target_id: str, attempt: Callable[[], T]) -> T:
    """Run `attempt` under the kind's guess limits (see the module docstring)."""
    check(kind, caller_id, target_id)
    try:
        return attempt()
    except Exception as exc:
        if getattr(exc, "code", None) in LIMITS[kind].failure_codes:
            record_failure(kind, caller_id, target_id)
        raise
