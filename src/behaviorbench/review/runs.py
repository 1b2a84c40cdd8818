"""Read the evaluation runs a study compares: their identity and their per-slot samples."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.evaluation.records import Sample
from behaviorbench.inputs import read_text, text_lines

SlotKey = tuple[str, int]


@dataclass
class ReviewRun:
    """One system under review: where it came from and what it said at each slot."""

    run_dir: Path
    model: str
    protocol: str
    data_dir: str
    dataset_fingerprint: str
    samples: dict[SlotKey, Sample]


def load_run(run_dir: Path) -> ReviewRun:
    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    samples_path = run_dir / "samples.jsonl"
    for path in (results_path, samples_path):
        if not path.is_file():
            raise BehaviorBenchError(f"{path}: not found; is {run_dir} a finished run directory?")
    identity = _identity(results_path)
    samples: dict[SlotKey, Sample] = {}
    for number, line in text_lines(samples_path):
        if not line.strip():
            continue
        try:
            sample = Sample.model_validate_json(line)
        except ValidationError as error:
            raise BehaviorBenchError(
                f"{samples_path}: line {number}: {field_error(error, 'sample')}"
            ) from None
        samples[(sample.case_id, sample.slot)] = sample
    return ReviewRun(
        run_dir=run_dir,
        model=identity["model"],
        protocol=identity["protocol"],
        data_dir=identity["data_dir"],
        dataset_fingerprint=identity["dataset_fingerprint"],
        samples=samples,
    )


def _identity(results_path: Path) -> dict[str, str]:
    """model, protocol, dataset_fingerprint and data_dir of a run's results.json.

    The harness nests the run identity under "run" and names the dataset "dataset_dir"; a flat
    file with these keys at the top (and "data_dir") is read too, for runs written by other tools.
    """
    try:
        results = json.loads(read_text(results_path))
    except json.JSONDecodeError as error:
        raise BehaviorBenchError(f"{results_path}: line {error.lineno}: invalid JSON ({error.msg})") from None
    if not isinstance(results, dict):
        raise BehaviorBenchError(f"{results_path}: expected a JSON object")
    nested = results["run"] if isinstance(results.get("run"), dict) else {}
    flat = {**results, **nested}
    identity = {
        "model": flat.get("model"),
        "protocol": flat.get("protocol"),
        "dataset_fingerprint": flat.get("dataset_fingerprint"),
        "data_dir": flat.get("dataset_dir", flat.get("data_dir")),
    }
    for field, value in identity.items():
        if not isinstance(value, str):
            raise BehaviorBenchError(f"{results_path}: field {field!r} missing or not a string")
    return identity


def load_runs(run_dirs: list[Path]) -> list[ReviewRun]:
    """All runs, which must have scored the same dataset (same fingerprint)."""
    if len(run_dirs) < 2:
        raise BehaviorBenchError("--runs: a comparison needs at least two run directories")
    runs = [load_run(path) for path in run_dirs]
    first = runs[0]
    for run in runs[1:]:
        if run.dataset_fingerprint != first.dataset_fingerprint:
            raise BehaviorBenchError(
                f"{run.run_dir / 'results.json'}: dataset_fingerprint {run.dataset_fingerprint} differs from "
                f"{first.dataset_fingerprint} of {first.run_dir}; runs must score the same dataset"
            )
    return runs


def system_labels(runs: list[ReviewRun]) -> list[str]:
    """Human names for the results: the model, then model [protocol], then the run folder."""
    for label_of in (
        lambda run: run.model,
        lambda run: f"{run.model} [{run.protocol}]",
        lambda run: f"{run.model} [{run.protocol}] {run.run_dir.name}",
        lambda run: str(run.run_dir),
    ):
        labels = [label_of(run) for run in runs]
        if len(set(labels)) == len(labels):
            return labels
    raise BehaviorBenchError(
        f"--runs: the same run directory is listed twice: {[str(r.run_dir) for r in runs]}"
    )


def resolve_data_dir(runs: list[ReviewRun], override: Path | None) -> Path:
    """The dataset the runs scored: --data, else results.json's data_dir (as given or next to the run)."""
    if override is not None:
        candidates = [Path(override)]
    else:
        recorded = Path(runs[0].data_dir)
        candidates = [recorded] if recorded.is_absolute() else [recorded, runs[0].run_dir / recorded]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise BehaviorBenchError(
        f"{runs[0].run_dir / 'results.json'}: data_dir {runs[0].data_dir!r} not found; pass --data DIR"
    )
