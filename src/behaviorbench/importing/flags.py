"""Error-flag accuracy: MEDEC's headline figure, read from an evaluation run of an imported note set.

A note counts as flagged when the assistant spoke up (`proactive`) at its `error_correction` slot.
Accuracy is the share of notes where that matches whether the note holds an error. A reply that
could not be read, or a request that failed, counts as wrong whatever the note holds, so nothing
is dropped.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from scipy.stats import binomtest

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.results import read_samples
from behaviorbench.taxonomy import Behavior, Category


class FlagAccuracy(BaseModel):
    notes: int
    accuracy: float
    low: float
    high: float
    """95% Wilson interval."""
    caught: int
    """Notes with an error that the assistant flagged."""
    missed: int
    false_flags: int
    """Correct notes the assistant flagged anyway."""
    quiet: int
    """Correct notes it did not flag."""
    unreadable: int
    """Replies that could not be read or requests that failed (counted as wrong)."""


def flag_accuracy(run_dir: Path) -> FlagAccuracy:
    samples, _ = read_samples(Path(run_dir))
    slots = [s for s in samples if s.category is Category.error_correction]
    if not slots:
        raise BehaviorBenchError(f"{run_dir}: no error_correction slot in the run's samples")
    caught = missed = false_flags = quiet = unreadable = 0
    for sample in slots:
        has_error = sample.gold_behavior is Behavior.proactive
        if sample.status != "ok":
            unreadable += 1
        elif sample.predicted is Behavior.proactive:
            caught, false_flags = caught + has_error, false_flags + (not has_error)
        else:
            missed, quiet = missed + has_error, quiet + (not has_error)
    correct = caught + quiet
    interval = binomtest(correct, len(slots)).proportion_ci(method="wilson")
    return FlagAccuracy(
        notes=len(slots),
        accuracy=correct / len(slots),
        low=interval.low,
        high=interval.high,
        caught=caught,
        missed=missed,
        false_flags=false_flags,
        quiet=quiet,
        unreadable=unreadable,
    )
