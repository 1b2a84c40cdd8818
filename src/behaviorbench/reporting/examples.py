"""Pick the slots where runs disagree and show each with the conversation that led to it.

Numbers say how often runs differ; examples say how. Selection is deterministic and spread over
categories, so a report of many runs is not filled with one kind of task.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from behaviorbench.evaluation.records import Sample
from behaviorbench.reporting.runs import Run
from behaviorbench.schema import Case
from behaviorbench.taxonomy import CATEGORIES

CONTEXT_UTTERANCES = 4


class ContextLine(BaseModel):
    index: int
    speaker: str
    role: str
    text: str


class RunAnswer(BaseModel):
    run: str
    behavior: str
    """The predicted behavior, or the sample's status (`invalid`, `errored`) when there is none."""
    response: str
    """What the model wrote (its response, or the raw reply when it wrote nothing after the mark)."""
    note: str = ""
    """Why the response is empty or is not one (nothing after the mark, an error, silence)."""
    correct: bool


class Example(BaseModel):
    case_id: str
    slot: int
    category: str
    task_id: str | None
    control_of: str | None
    context: list[ContextLine]
    gold_behavior: str
    gold_response: str
    answers: list[RunAnswer]


def predicted_label(sample: Sample) -> str:
    return sample.predicted.value if sample.status == "ok" and sample.predicted else sample.status


def written(sample: Sample) -> tuple[str, str]:
    """(what the model wrote, a note on it) for a sample, so no reply is shown as missing."""
    if sample.status == "not_applicable":
        return "", sample.error or "not applicable"
    if sample.status in ("errored", "invalid"):
        return sample.raw_output, sample.error or sample.status
    if sample.response:
        return sample.response, ""
    if sample.predicted is not None and sample.predicted.value == "silent":
        return sample.raw_output, "stays silent"
    if sample.raw_output.strip():
        return sample.raw_output, "the model wrote nothing after its behavior mark"
    return "", "no response was generated for this slot (decision only)"


def _answer(run: Run, sample: Sample) -> RunAnswer:
    text, note = written(sample)
    return RunAnswer(
        run=run.name, behavior=predicted_label(sample), response=text, note=note, correct=sample.correct
    )


def disagreement_keys(runs: Sequence[Run], limit: int) -> list[tuple[str, int]]:
    """(case_id, slot) of designated slots the runs answer differently (one run: slots it missed).

    Round-robin over categories in taxonomy order, each in the first run's sample order.
    """
    by_key = [{(s.case_id, s.slot): s for s in run.samples if s.designated} for run in runs]
    candidates: dict[str, list[tuple[str, int]]] = {c.value: [] for c in CATEGORIES}
    for key, first in by_key[0].items():
        answers = [samples.get(key) for samples in by_key]
        if any(a is None or a.status == "not_applicable" for a in answers):
            continue
        labels = {a.predicted.value if a.status == "ok" and a.predicted else "invalid" for a in answers}
        differs = len(labels) > 1 if len(runs) > 1 else not first.correct
        if differs:
            candidates[first.category.value].append(key)
    chosen: list[tuple[str, int]] = []
    queues = [queue for queue in candidates.values() if queue]
    depth = 0
    while len(chosen) < limit and any(depth < len(queue) for queue in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < limit:
                chosen.append(queue[depth])
        depth += 1
    return chosen


def build_examples(runs: Sequence[Run], cases: Iterable[Case], keys: list[tuple[str, int]]) -> list[Example]:
    """Examples for `keys`, in that order; `cases` must hold every case they name."""
    wanted = {case_id for case_id, _ in keys}
    case_by_id = {case.case_id: case for case in cases if case.case_id in wanted}
    by_key = [{(s.case_id, s.slot): s for s in run.samples} for run in runs]
    examples = []
    for case_id, slot_index in keys:
        case = case_by_id[case_id]
        slot = case.slots[slot_index]
        first = max(0, slot_index - CONTEXT_UTTERANCES + 1)
        examples.append(
            Example(
                case_id=case_id,
                slot=slot_index,
                category=slot.category.value,
                task_id=slot.task_id,
                control_of=slot.control_of,
                context=[
                    ContextLine(index=i, speaker=u.speaker, role=u.role, text=u.text)
                    for i, u in enumerate(case.utterances[first : slot_index + 1], start=first)
                ],
                gold_behavior=slot.gold_behavior.value,
                gold_response=slot.gold_response,
                answers=[
                    _answer(run, samples[(case_id, slot_index)])
                    for run, samples in zip(runs, by_key, strict=True)
                ],
            )
        )
    return examples
