"""Write imported cases as a dataset, all or nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from behaviorbench.dataset.manifest import Manifest
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case


def check_out(out: Path) -> None:
    """Refuse a folder that holds anything: an import never mixes with or replaces other data."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BehaviorBenchError(f"--out: {out} exists and is not empty; choose a new folder")


def write_imported(out: Path, cases: list[Case], version: str) -> Manifest:
    """Write the dataset beside `out` and move it into place whole, so a failure leaves nothing."""
    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{os.getpid()}.importing"
    try:
        manifest = write_dataset(staging, cases, generator_version=version)
        os.replace(staging, out)  # onto a missing or empty folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
