"""One writer per folder: a run, a dataset or a training folder is written by one command at a time.

The lock is an advisory `fcntl.flock` on the folder itself (a directory can be locked like a
file), so nothing is written into a folder that may turn out not to be the command's own, and the
kernel releases the lock when its holder dies, even on `kill -9`: a stale lock never needs
cleaning up. A second writer is refused at once with one line naming the folder.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder`'s lock for the block (the folder is created if needed, and removed again if
    the block leaves it empty)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BehaviorBenchError(f"{folder}: exists and is not a folder")
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BehaviorBenchError(
                f"{folder}: another command is writing this {what} now; wait for it or choose another --out"
            ) from None
        yield
    finally:
        if created and not any(folder.iterdir()):
            folder.rmdir()  # refused before writing anything: leave no trace
        os.close(descriptor)  # closing releases the lock
