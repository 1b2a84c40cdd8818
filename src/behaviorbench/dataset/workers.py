"""Worker processes that end with their parent, even when the parent is killed with SIGKILL.

A pool worker blocked on its task queue never learns that the parent died: nothing closes the
queue. On Linux the kernel can deliver a signal when the parent dies (PR_SET_PDEATHSIG); a
watchdog thread that polls the parent's pid covers other systems and the race where the parent
died before the worker asked for the signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0


def end_with_parent(parent: int) -> None:
    """Pool initializer: make this worker exit as soon as process `parent` is gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # the watchdog below still ends the worker
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watchdog").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
