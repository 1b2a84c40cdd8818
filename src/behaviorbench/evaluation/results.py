"""A run directory: `run.json` (what is being evaluated), `samples.jsonl`, and `results.json`.

`run.json` is written before the first sample, so a rerun into the same directory resumes only a
run of the same model, dataset, split, protocol and parameters, and refuses anything else.
"""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.evaluation.metrics import Scores
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.usage import Cost, TokenUsage
from behaviorbench.inputs import decode, read_text

ModelT = TypeVar("ModelT", bound=BaseModel)

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"
VERSIONED_PACKAGES = (
    "behaviorbench",
    "torch",
    "transformers",
    "peft",
    "openai",
    "numpy",
    "scipy",
    "scikit-learn",
    "pydantic",
)


class RunIdentity(BaseModel):
    """Everything that decides the samples: two runs with equal identities give equal samples."""

    model_config = ConfigDict(extra="forbid")

    model: str
    protocol: str
    dataset_fingerprint: str
    split: str
    judge: str | None
    seed: int
    max_tokens: int
    temperature: float
    proactive_bias: float
    generate: bool


class Timings(BaseModel):
    started: str
    finished: str
    seconds: float
    cases: int
    cases_resumed: int
    cases_per_second: float | None
    cache_hits: int
    cache_misses: int


class RunResults(BaseModel):
    """`results.json`: the run's identity, provenance and metrics."""

    run: RunIdentity
    dataset_dir: str | None
    generator_version: str | None
    limit: int | None
    git_commit: str | None
    versions: dict[str, str | None]
    timings: Timings | None
    metrics: Scores
    usage: TokenUsage | None = None
    """API models: tokens the server reported over the run's requests (a resumed run adds up)."""
    judge_usage: TokenUsage | None = None
    cost: Cost | None = None
    """API models: the estimated cost of `usage`, or why it is unknown."""
    judge_cost: Cost | None = None


def check_run_dir(out_dir: Path, identity: RunIdentity) -> None:
    """Refuse a directory that holds a different run (or files of a run without its run.json)."""
    run_file = out_dir / RUN_FILE
    if run_file.is_file():
        previous = read_identity(out_dir)
        for field, value in identity.model_dump().items():
            old = getattr(previous, field)
            if old != value:
                raise BehaviorBenchError(
                    f"{run_file}: holds a run with {field}={old!r}, not {value!r}; choose another --out"
                )
    elif any((out_dir / name).exists() for name in (SAMPLES_FILE, RESULTS_FILE)):
        raise BehaviorBenchError(f"{out_dir}: holds run files but no {RUN_FILE}; choose another --out")


def _read_json(path: Path, model: type[ModelT]) -> ModelT:
    try:
        return model.model_validate_json(read_text(path))
    except ValidationError as error:
        raise BehaviorBenchError(f"{path}: {field_error(error, 'json')}") from None


def read_identity(out_dir: Path) -> RunIdentity:
    return _read_json(out_dir / RUN_FILE, RunIdentity)


def write_identity(out_dir: Path, identity: RunIdentity) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / RUN_FILE, identity.model_dump_json(indent=2) + "\n")


def read_samples(out_dir: Path) -> tuple[list[Sample], int]:
    """The samples of a run, and the byte length of its intact part.

    A last line without its newline is the write a kill interrupted: it is left out (and its case
    redone on resume). A bad line anywhere else is corruption and an error naming it.
    """
    path = out_dir / SAMPLES_FILE
    if not path.is_file():
        return [], 0
    data = path.read_bytes()
    intact = data.rfind(b"\n") + 1
    samples = []
    seen: dict[tuple[str, int], int] = {}
    for number, line in enumerate(decode(data[:intact], path).splitlines(), start=1):
        try:
            sample = Sample.model_validate_json(line)
        except ValidationError as error:
            raise BehaviorBenchError(f"{path}:{number}: {field_error(error, 'json')}") from None
        key = (sample.case_id, sample.slot)
        if key in seen:  # two writers interleaved: scoring it would count slots twice
            raise BehaviorBenchError(
                f"{path}:{number}: case {sample.case_id} slot {sample.slot} already at line {seen[key]}; "
                "two evaluations wrote into this run"
            )
        seen[key] = number
        samples.append(sample)
    return samples, intact


def rewrite_samples(out_dir: Path, samples: list[Sample]) -> None:
    """Replace samples.jsonl atomically (used to drop the incomplete cases of a killed run)."""
    atomic_write_text(out_dir / SAMPLES_FILE, "".join(s.model_dump_json() + "\n" for s in samples))


def append_samples(handle, samples: list[Sample]) -> None:
    """Append one case's samples in a single write, flushed to disk before the next case starts."""
    handle.write("".join(s.model_dump_json() + "\n" for s in samples))
    handle.flush()
    os.fsync(handle.fileno())


def write_results(out_dir: Path, results: RunResults) -> Path:
    path = out_dir / RESULTS_FILE
    atomic_write_text(path, results.model_dump_json(indent=2) + "\n")
    return path


def read_results(out_dir: Path) -> RunResults:
    return _read_json(out_dir / RESULTS_FILE, RunResults)


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, when it runs from one."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
