"""BehaviorBench as an inspect_ai task, so any model provider inspect knows can be evaluated.

    inspect eval behaviorbench/behaviorbench --model openai/gpt-4o-mini -T data=data/bb -T split=test
    inspect eval src/behaviorbench/inspect_task.py --model mockllm/model -T data=data/bb

One inspect sample per designated slot (with `ambient=true`, every slot), holding the
conversation so far exactly as `behaviorbench eval` renders it for the protocol. The reply is read
by the harness's own parser (`read_reply`, or the documented rule of protocol 'free'), checked by
its content checks, and turned into the same `Sample` record `eval` writes; the metric scores those
records with `score_samples`, so Macro-F1, per-class F1, group scores, false alarms and content
accuracy equal what `behaviorbench score` computes on the same slots. The `token` protocol works
when the server returns the behavior token as text (as `behaviorbench serve` does).
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.dataset import Sample as InspectSample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    ContentImage,
    ContentText,
    GenerateConfig,
)
from inspect_ai.scorer import CORRECT, INCORRECT, Metric, SampleScore, Score, Target, metric, scorer
from inspect_ai.solver import Generate, TaskState, solver

from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.content import check_content
from behaviorbench.evaluation.metrics import Scores, score_samples
from behaviorbench.evaluation.protocols import PROTOCOLS, read_reply, rule_behavior, slot_prompt
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.runner import has_content, needs_image, sample_of, scored_slots
from behaviorbench.prompts import prompt_hash
from behaviorbench.schema import Case, ImageAttachment, Slot

NOT_APPLICABLE = "not_applicable"
"""Metadata flag of an image slot for a text-only model: not asked, reported, never dropped."""

_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}


@task
def behaviorbench(
    data: str,
    split: str = "test",
    protocol: str = "tagged",
    limit: int | None = None,
    ambient: bool = False,
    multimodal: bool = False,
    max_tokens: int = 96,
    seed: int = 0,
) -> Task:
    """BehaviorBench on `split` of the built dataset in `data`.

    Args:
        data: Dataset directory written by `behaviorbench build` (or `hard`).
        split: Split to evaluate (`dev` is the on-disk name of the validation split).
        protocol: tagged, instructed, free (the documented no-judge rule) or token.
        limit: Evaluate only the first N cases of the split (like `eval --limit`).
        ambient: Also ask every ambient slot, which the false-alarm rate needs.
        multimodal: Send image attachments to the model; otherwise image slots are not applicable.
        max_tokens: Longest reply, in tokens.
        seed: Generation seed (temperature is 0).
    """
    if protocol not in PROTOCOLS:
        raise BehaviorBenchError(f"protocol '{protocol}': choose one of {', '.join(PROTOCOLS)}")
    if limit is not None and limit < 1:
        raise BehaviorBenchError(f"limit {limit}: must be at least 1")
    data_dir = Path(data)
    cases = _load_cases(data_dir, split, limit)
    scored_tasks = load_manifest(data_dir).scored_tasks
    chosen = frozenset(scored_tasks) if scored_tasks is not None else None
    slots = {
        (case.case_id, slot.index): (case, slot)
        for case in cases
        for slot in scored_slots(case, chosen)
        if ambient or slot.designated
    }
    samples = [_sample(case, slot, protocol, data_dir, multimodal) for case, slot in slots.values()]
    return Task(
        dataset=MemoryDataset(samples, name=f"behaviorbench-{split}"),
        solver=behavior_turn(),
        scorer=behavior_scorer(protocol, slots),
        config=GenerateConfig(max_tokens=max_tokens, temperature=0.0, seed=seed),
        metadata={"dataset_dir": str(data_dir), "split": split, "protocol": protocol},
    )


def _load_cases(data_dir: Path, split: str, limit: int | None) -> list[Case]:
    """The split's cases after the same checks `behaviorbench eval` makes."""
    problems = validate_dataset(data_dir)
    if problems:
        raise BehaviorBenchError(f"dataset fails validation: {problems[0]}")
    splits = load_manifest(data_dir).splits
    if split not in splits:
        raise BehaviorBenchError(
            f"{data_dir}: no split {split!r} in this dataset; available: {', '.join(splits) or 'none'}"
        )
    return list(iter_cases(data_dir, split))[:limit]


def _sample(case: Case, slot: Slot, protocol: str, data_dir: Path, multimodal: bool) -> InspectSample:
    """An inspect sample: the conversation up to the slot, its gold behavior as the target."""
    images = _images(case, data_dir) if multimodal else None
    messages = slot_prompt(case, slot, protocol, images)
    return InspectSample(
        id=f"{case.case_id}/{slot.index}",
        input=[chat_message(m) for m in messages],
        target=slot.gold_behavior.value,
        metadata={
            "case_id": case.case_id,
            "slot": slot.index,
            "category": slot.category.value if slot.category else None,
            "gold_behavior": slot.gold_behavior.value,
            "prompt_hash": prompt_hash(messages),
            NOT_APPLICABLE: needs_image(slot) and not multimodal,
        },
    )


def _images(case: Case, data_dir: Path) -> dict[str, Path]:
    from behaviorbench.generation.ecg import materialize_image

    return {
        a.path: materialize_image(data_dir, a)
        for u in case.utterances
        for a in u.attachments
        if isinstance(a, ImageAttachment)
    }


def chat_message(message: dict) -> ChatMessage:
    """An OpenAI-style message dict (text, or text and image_url parts) as an inspect message."""
    content = message["content"]
    if not isinstance(content, str):
        content = [
            ContentText(text=part["text"])
            if part["type"] == "text"
            else ContentImage(image=part["image_url"]["url"])
            for part in content
        ]
    return _ROLES[message["role"]](content=content)


@solver
def behavior_turn():
    """Ask the model for its turn, except on slots it cannot see (images for a text-only model)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.metadata[NOT_APPLICABLE]:
            return state
        return await generate(state)

    return solve


@metric
def behavior_scores() -> Metric:
    """The harness's own scores of the slots' records (see `behaviorbench.evaluation.metrics`)."""

    def compute(scores: list[SampleScore]) -> dict[str, float | None]:
        records = [Sample.model_validate(s.score.metadata["record"]) for s in scores]
        return flat_scores(score_samples(records, n_bootstrap=0))

    return compute


def flat_scores(scores: Scores) -> dict[str, float | None]:
    """The figures inspect shows, named as the report names them (group scores as such)."""
    flat: dict[str, float | None] = {"macro_f1": scores.macro_f1}
    for label, cls in scores.per_class.items():
        flat[f"{label}_f1"] = cls.f1
    for group, subset in scores.groups.items():
        flat[f"{group}_group_score"] = subset.macro_f1
    flat |= {
        "false_alarm_rate": scores.false_alarm_rate,
        "content_accuracy": scores.content_accuracy,
        "joint_success": scores.joint_success,
        "accuracy": scores.accuracy,
        "invalid": float(scores.counts.invalid + scores.counts.errored),
        "not_applicable": float(scores.counts.not_applicable),
    }
    return flat


@scorer(metrics=[behavior_scores()])
def behavior_scorer(protocol: str, slots: dict[tuple[str, int], tuple[Case, Slot]]):
    """Read the reply's behavior and check its content exactly as `behaviorbench eval` does."""

    async def score(state: TaskState, target: Target) -> Score:
        case, slot = slots[(state.metadata["case_id"], state.metadata["slot"])]
        record = slot_record(case, slot, protocol, state)
        return Score(
            value=CORRECT if record.correct else INCORRECT,
            answer=record.predicted.value if record.predicted else record.status,
            explanation=record.response or record.error,
            metadata={"record": record.model_dump(mode="json")},
        )

    return score


def slot_record(case: Case, slot: Slot, protocol: str, state: TaskState) -> Sample:
    """The `Sample` record `eval` would write for this slot and reply."""
    hashed = state.metadata["prompt_hash"]
    if state.metadata[NOT_APPLICABLE]:
        return sample_of(
            case,
            slot,
            predicted=None,
            status="not_applicable",
            prompt_hash="",
            error="image slot: the model is text-only",
        )
    reply = state.output.completion
    if protocol == "free":
        behavior, response, error = rule_behavior(reply, case, slot), reply.strip(), None
    else:
        behavior, response = read_reply(reply, protocol)
        error = None if behavior is not None else "reply starts with no behavior tag"
    content = {}
    if has_content(slot):
        passed, score = check_content(slot.target, response)
        content = {"content_pass": passed, "content_score": score}
    return sample_of(
        case,
        slot,
        predicted=behavior,
        status="ok" if behavior is not None else "invalid",
        raw_output=reply,
        response=response,
        prompt_hash=hashed,
        error=error,
        **content,
    )
