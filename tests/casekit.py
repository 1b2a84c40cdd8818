"""Building blocks for the hand-written cases of every test folder.

Each folder composes the cases its tests need from these, so the ward-round cast, the lab table
and the shapes of designated slots are written once and a schema change touches one file.
"""

from __future__ import annotations

from collections.abc import Sequence

from behaviorbench.schema import Attachment, Case, Slot, TableAttachment, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category

HIGH_POTASSIUM = ("potassium", "5.9", "mmol/L", "3.5-5.1")
NORMAL_SODIUM = ("sodium", "139", "mmol/L", "135-145")
HIGH_POTASSIUM_REPLY = "Potassium is high at 5.9 mmol/L."


def attending(text: str, *attachments: Attachment) -> Utterance:
    return Utterance(speaker="Dr. Okafor", role="attending", text=text, attachments=list(attachments))


def nurse(text: str, *attachments: Attachment) -> Utterance:
    return Utterance(speaker="Nurse Lee", role="nurse", text=text, attachments=list(attachments))


def resident(text: str, *attachments: Attachment) -> Utterance:
    return Utterance(speaker="Dr. Patel", role="resident", text=text, attachments=list(attachments))


def lab_table(*rows: Sequence[str]) -> TableAttachment:
    """A basic metabolic panel; by default a high potassium and a normal sodium."""
    return TableAttachment(
        title="Basic metabolic panel",
        columns=["analyte", "value", "unit", "range"],
        rows=[list(row) for row in rows or (HIGH_POTASSIUM, NORMAL_SODIUM)],
    )


def answer(
    index: int,
    category: Category,
    task_id: str,
    reply: str,
    target: Target | None,
    evidence: Sequence[int] = (),
) -> Slot:
    """A designated slot where the assistant was asked: gold reactive."""
    return Slot(
        index=index,
        category=category,
        task_id=task_id,
        gold_behavior=Behavior.reactive,
        gold_response=reply,
        target=target,
        evidence=list(evidence),
    )


def lab_answer(index: int, task_id: str, evidence: Sequence[int] = (1,)) -> Slot:
    """The answer to 'what stands out in these labs?' over the default lab table."""
    target = Target(kind="analytes", answers=["potassium"])
    return answer(index, Category.lab_interpretation, task_id, HIGH_POTASSIUM_REPLY, target, evidence)


def problem(
    index: int,
    category: Category,
    task_id: str,
    flag: str,
    target: Target | None,
    control_of: str | None = None,
    evidence: Sequence[int] = (),
) -> Slot:
    """A problem to raise unprompted, or with `control_of` its minimal-pair control: silent, no reply."""
    control = control_of is not None
    return Slot(
        index=index,
        category=category,
        task_id=task_id,
        gold_behavior=Behavior.silent if control else Behavior.proactive,
        gold_response="" if control else flag,
        target=None if control else target,
        evidence=list(evidence),
        control_of=control_of,
    )


def ward_case(
    case_id: str,
    utterances: list[Utterance],
    slots: list[Slot],
    split: str = "test",
    seed: int = 0,
    patient: dict | None = None,
    difficulty: dict[str, bool] | None = None,
) -> Case:
    return Case(
        case_id=case_id,
        split=split,
        seed=seed,
        version="test",
        setting="ward round",
        assistant_names=["Assistant"],
        patient={"age": 67} if patient is None else patient,
        difficulty=difficulty or {},
        utterances=utterances,
        slots=slots,
    )
