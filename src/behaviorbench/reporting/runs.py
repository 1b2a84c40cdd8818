"""Read evaluation runs back from disk: `samples.jsonl` (one Sample per slot) and `results.json`.

Reports, calibration and the hard subset all compare runs; comparing runs scored on different
datasets would silently mix tasks, so loading several runs checks they share one fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.records import Sample

SAMPLES_NAME = "samples.jsonl"
RESULTS_NAME = "results.json"


@dataclass(frozen=True)
class Run:
    """One evaluation run: where it lives, its results record and its per-slot samples."""

    path: Path
    results: dict
    samples: list[Sample]

    @property
    def name(self) -> str:
        """The run directory's name: what tables, legends and cards call the run."""
        return self.path.resolve().name

    @property
    def model(self) -> str:
        return str(self.results.get("model", self.name))

    @property
    def fingerprint(self) -> str:
        return str(self.results["dataset_fingerprint"])

    @property
    def has_probabilities(self) -> bool:
        """True when every ok designated-or-ambient sample carries behavior probabilities."""
        scored = [s for s in self.samples if s.status == "ok"]
        return bool(scored) and all(s.probabilities is not None for s in scored)


def load_run(path: Path) -> Run:
    """A run directory; a missing file or a bad line is one error naming file, line and field."""
    path = Path(path)
    if not path.is_dir():
        raise BehaviorBenchError(f"{path}: no such run directory")
    results_file = path / RESULTS_NAME
    if not results_file.is_file():
        raise BehaviorBenchError(
            f"{results_file}: not found; is {path} a run written by `behaviorbench eval`?"
        )
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BehaviorBenchError(f"{results_file}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(results, dict) or not results.get("dataset_fingerprint"):
        raise BehaviorBenchError(f"{results_file}: dataset_fingerprint: missing field")
    return Run(path=path, results=results, samples=read_samples(path / SAMPLES_NAME))


def read_samples(path: Path) -> list[Sample]:
    if not path.is_file():
        raise BehaviorBenchError(f"{path}: not found; a run directory needs its {SAMPLES_NAME}")
    samples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                samples.append(Sample.model_validate_json(line))
            except ValidationError as error:
                first = error.errors()[0]
                field = ".".join(str(part) for part in first["loc"]) or "sample"
                raise BehaviorBenchError(f"{path}:{number}: {field}: {first['msg']}") from None
    if not samples:
        raise BehaviorBenchError(f"{path}: holds no samples")
    return samples


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
                f"{run.path / RESULTS_NAME}: dataset_fingerprint {run.fingerprint} differs from "
                f"{first.fingerprint} of {first.path}; runs compared together must score the same dataset"
            )
