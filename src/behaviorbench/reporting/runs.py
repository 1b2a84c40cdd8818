"""Read evaluation runs back for comparison: `results.json` and `samples.jsonl` of each run.

Reports, calibration and the hard subset all compare runs; comparing runs scored on different
datasets would silently mix tasks, so loading several runs checks they share one fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import (
    RESULTS_FILE,
    SAMPLES_FILE,
    RunResults,
    read_results,
    read_samples,
)


@dataclass(frozen=True)
class Run:
    """One finished evaluation run: where it lives, its results record and its per-slot samples."""

    path: Path
    results: RunResults
    samples: list[Sample]

    @property
    def name(self) -> str:
        """The run directory's name: what tables, legends and cards call the run."""
        return self.path.resolve().name

    @property
    def model(self) -> str:
        return self.results.run.model

    @property
    def fingerprint(self) -> str:
        return self.results.run.dataset_fingerprint

    @property
    def proactive_bias(self) -> float:
        """The bias the run was decided with; its recorded probabilities already include it."""
        return self.results.run.proactive_bias

    @property
    def has_probabilities(self) -> bool:
        """True when every `ok` sample carries behavior probabilities."""
        scored = [s for s in self.samples if s.status == "ok"]
        return bool(scored) and all(s.probabilities is not None for s in scored)


def load_run(path: Path) -> Run:
    """A run directory; a missing file or a bad line is one error naming file, line and field."""
    path = Path(path)
    if not path.is_dir():
        raise BehaviorBenchError(f"{path}: no such run directory")
    if not (path / RESULTS_FILE).is_file():
        raise BehaviorBenchError(
            f"{path / RESULTS_FILE}: not found; finish the run with `behaviorbench eval` "
            "or score what it has with `behaviorbench score`"
        )
    results = read_results(path)
    samples, _ = read_samples(path)
    if not samples:
        raise BehaviorBenchError(f"{path / SAMPLES_FILE}: no samples; a run directory needs its samples")
    return Run(path=path, results=results, samples=samples)


def load_runs(paths: list[Path]) -> list[Run]:
    """Several runs of the same dataset, in the order given."""
    if not paths:
        raise BehaviorBenchError("RUN: give at least one run directory")
    runs = [load_run(path) for path in paths]
    check_same_dataset(runs)
    names = [run.name for run in runs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise BehaviorBenchError(f"RUN: two runs share the directory name {duplicated[0]!r}; rename one")
    return runs


def check_same_dataset(runs: list[Run]) -> None:
    first = runs[0]
    for run in runs[1:]:
        if run.fingerprint != first.fingerprint:
            raise BehaviorBenchError(
                f"{run.path / RESULTS_FILE}: run.dataset_fingerprint {run.fingerprint} differs from "
                f"{first.fingerprint} of {first.path}; runs compared together must score the same dataset"
            )
