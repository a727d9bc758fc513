"""SnapStart's after-restore hook: registered once in a runtime that offers it, and it reseeds and reconnects."""

from __future__ import annotations

import random
import sys
import types

import pytest

from storeloop import runtime, snapstart


@pytest.fixture
def runtime_hooks(monkeypatch):
    hooks = []
    module = types.ModuleType("snapshot_restore_py")
    module.register_after_restore = hooks.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    monkeypatch.setattr(snapstart, "_registered", False)
    return hooks


def test_without_snapstart_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as outside Lambda
    monkeypatch.setattr(snapstart, "_registered", False)
    assert snapstart.register(runtime.after_restore) is False


def test_registered_once(runtime_hooks):
    assert snapstart.register(runtime.after_restore) is True
    assert snapstart.register(runtime.after_restore) is True
    assert runtime_hooks == [runtime.after_restore]


def test_after_restore_reseeds_random_and_remakes_clients(runtime_hooks, monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "reset", lambda: calls.append("reset"))
    monkeypatch.setattr(runtime, "bootstrap", lambda: calls.append("bootstrap"))
    random.seed(1234)  # what every restored copy of one snapshot would share
    snapshot_state = random.getstate()
    runtime.after_restore()
    assert random.getstate() != snapshot_state
    assert calls == ["reset", "bootstrap"]
