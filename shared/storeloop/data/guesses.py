"""Failed-guess counters: one item per (what was guessed, who or what, time window), written only on a failure.

PK `GUESS#<kind>#<scope>#<id>`, SK `W#<window start, unix seconds>`; `failures` is ADDed to, `expires_at` (the
table's TTL attribute) removes the item a window after it closes. Honest traffic reads these (one BatchGetItem,
eventually consistent) but never writes them, so no item is hot unless someone is guessing.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute

from storeloop.data.models import Entity


class GuessCounter(Entity):
    failures = NumberAttribute(default=0)
    expires_at = NumberAttribute()


def key(kind: str, scope: str, subject: str, window_start: int) -> tuple[str, str]:
    return f"GUESS#{kind}#{scope}#{subject}", f"W#{window_start}"


def failures(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The failure count of each key (0 for a key without an item)."""
    found = {(c.PK, c.SK): int(c.failures or 0) for c in GuessCounter.batch_get(keys)}
    return {k: found.get(k, 0) for k in keys}


def add_failure(pk: str, sk: str, expires_at: int) -> int:
    """Count one failure atomically; the new count."""
    item = GuessCounter(pk, sk)
    item.update(actions=[GuessCounter.failures.add(1), GuessCounter.expires_at.set(expires_at)])
    return int(item.failures or 0)
