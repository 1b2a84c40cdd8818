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


def replace_dataset(out: Path, cases: list[Case], version: str, seed: int) -> Manifest:
    """Write the dataset beside the other files of `out` (a rerun's extraction log stays), replacing
    a previous one: the shards are staged, moved in per split, and the manifest is moved in last."""
    from behaviorbench.dataset.manifest import MANIFEST_NAME
    from behaviorbench.knowledge import knowledge_base_hash
    from behaviorbench.schema import SPLITS

    out = Path(out)
    staging = out / f".cases.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = write_dataset(
            staging, cases, generator_version=version, seed=seed, knowledge_base_hash=knowledge_base_hash()
        )
        for split in SPLITS:
            shutil.rmtree(out / split, ignore_errors=True)
            if (staging / split).is_dir():
                os.replace(staging / split, out / split)
        os.replace(staging / MANIFEST_NAME, out / MANIFEST_NAME)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
