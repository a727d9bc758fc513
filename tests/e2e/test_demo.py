"""`make demo` against the local cloud started as `make run` starts it: the whole loop runs and prints its tables."""

from __future__ import annotations

import os
import subprocess
import sys

from local.stack import ROOT


def run_demo(local_cloud) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STORELOOP_API_PORT": str(local_cloud["api_port"]),
           "STORELOOP_WECHAT_PORT": str(local_cloud["wechat_port"]), "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}"}
    return subprocess.run([sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_demo_walks_the_loop_and_prints_the_funnel(local_cloud):
    done = run_demo(local_cloud)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("[ 1] the local cloud answers")
    assert any("Bob is reminded of his unused coupon" in line for line in lines)
    assert "Campaign funnel:" in done.stdout
    header = next(line for line in lines if line.split()[:2] == ["claimed", "redeemed"])
    assert lines[lines.index(header) + 2].split()[:2] == ["3", "2"]  # three claims, two redeemed
    assert lines[-1].startswith("done: the loop ran end to end")


def test_a_failing_step_names_itself_and_exits_non_zero(tmp_path):
    # Nothing listens on these ports: the first step fails, saying where and why.
    env = {**os.environ, "STORELOOP_API_PORT": "9", "STORELOOP_WECHAT_PORT": "9",
           "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}"}
    done = subprocess.run([sys.executable, "-m", "local.demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "step 1 (the local cloud answers) failed" in done.stderr and "make run" in done.stderr
