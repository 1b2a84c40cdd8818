"""Where a command may write: never onto a file it reads, never into a folder that is not its own."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError


def refuse_input_as_output(out: Path, inputs: Iterable[Path], option: str = "--out") -> None:
    """Refuse an output that is, or holds, one of the command's input files (or links to one)."""
    target = Path(out).resolve()
    for source in inputs:
        source = Path(source)
        resolved = source.resolve()
        if target == resolved or (target.exists() and source.exists() and target.samefile(source)):
            raise BehaviorBenchError(f"{option} {out}: is the input {source}; writing it would destroy it")
        if resolved.is_file() and target in resolved.parents:
            raise BehaviorBenchError(f"{option} {out}: holds the input {source}; choose another folder")


def dataset_inputs(dataset: Path) -> list[Path]:
    """The files a dataset folder's readers depend on: its manifest and every shard it lists."""
    from behaviorbench.dataset.manifest import load_manifest, manifest_path

    dataset = Path(dataset)
    if not dataset.is_dir():
        return [dataset]
    return [manifest_path(dataset), *(dataset / entry.path for entry in load_manifest(dataset).shards)]


def run_inputs(run_dir: Path) -> list[Path]:
    """The files of an evaluation run folder."""
    from behaviorbench.evaluation.results import RESULTS_FILE, RUN_FILE, SAMPLES_FILE

    return [Path(run_dir) / name for name in (RUN_FILE, SAMPLES_FILE, RESULTS_FILE)]
