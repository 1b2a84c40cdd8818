"""A killed build leaves no worker behind: workers end with their parent, on SIGKILL too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from behaviorbench.dataset.workers import WATCH_SECONDS

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def children(parent: int) -> list[int]:
    """Pids whose parent is `parent`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended while we looked
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, limit: float) -> bool:
    """Poll until `condition()` holds or `limit` seconds pass (a bound, not a timing assertion)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_workers_of_a_build_killed_with_sigkill_exit(tmp_path: Path):
    command = [sys.executable, "-m", "behaviorbench.cli", "build", "--cases", "20000", "--seed", "3"]
    command += ["--workers", "2", "--out", str(tmp_path / "data")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    build = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: len(children(build.pid)) >= 2, 120), "the pool never started"
        workers = children(build.pid)
        os.kill(build.pid, signal.SIGKILL)
        build.wait(30)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 10 * WATCH_SECONDS)
    finally:
        build.kill()
        build.wait(30)
