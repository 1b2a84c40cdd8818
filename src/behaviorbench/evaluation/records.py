"""The run format: one `Sample` per evaluated slot in `samples.jsonl`, plus `results.json`.

Scoring, reports, calibration, the hard subset and clinician review read runs only through these
records, so a run can be rescored or compared long after the model is gone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from behaviorbench.taxonomy import Behavior, Category, Group

SampleStatus = Literal["ok", "invalid", "errored", "not_applicable"]
"""ok: behavior parsed; invalid: reply could not be parsed (a miss for its gold class);
errored: the backend failed after bounded retries; not_applicable: e.g. an image slot for a
text-only model (reported separately, never dropped)."""


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    slot: int
    split: str
    category: Category | None
    group: Group | None
    task_id: str | None
    control_of: str | None
    gold_behavior: Behavior
    predicted: Behavior | None
    status: SampleStatus
    probabilities: dict[Behavior, float] | None = None
    raw_output: str = ""
    response: str = ""
    prompt_hash: str
    content_pass: bool | None = None
    content_score: float | None = None
    error: str | None = None
    judged_gold: Behavior | None = None
    """Protocol 'free' with a judge: the judge's label for this slot's gold response, so the
    judge's agreement with gold labels can be rescored from the samples alone."""

    @property
    def designated(self) -> bool:
        return self.category is not None

    @property
    def correct(self) -> bool:
        return self.status == "ok" and self.predicted == self.gold_behavior
