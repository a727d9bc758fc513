"""SnapStart for Python: what must be made anew after Lambda restores a snapshot of an initialised function.

A restored environment starts from memory that many other environments share, so anything drawn at init is
the same in each of them. After a restore (`snapshot_restore_py.register_after_restore`, present only in the
Lambda runtime with SnapStart on):

- `random` is reseeded from the OS: the claim's shard choice, back-off jitter and sampling use it, and
  identical sequences would send every restored environment to the same stock shard first;
- the AWS clients and the DynamoDB connection are made again: their pooled connections were opened before the
  snapshot and are dead now (and their credentials may have expired);
- the settings are read again (a secret rotated since the snapshot).

Ids, codes and keys come from `secrets`/`uuid4` (the OS's generator on every call), which a snapshot cannot
repeat. Without SnapStart (local, tests, the China regions) registering does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

_registered = False


def register(hook: Callable[[], None]) -> bool:
    """Register the after-restore hook (`storeloop.runtime.after_restore`, which does the above) once per process;
    False when the runtime has no SnapStart hooks."""
    global _registered
    if _registered:
        return True
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(hook)
    _registered = True
    return True
