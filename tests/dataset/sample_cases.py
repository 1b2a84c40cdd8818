"""Hand-built cases: small, valid, and covering tables, images, designated slots and controls."""

from __future__ import annotations

from behaviorbench.schema import Case, ImageAttachment, Slot, TableAttachment, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category


def make_case(index: int, split: str = "train") -> Case:
    """Twin cases 2k (problem present) and 2k+1 (its control) share a scene."""
    control = index % 2 == 1
    pair = index // 2
    weight = "70 kg" if control else "700 kg"
    utterances = [
        Utterance(
            speaker="Dr. Okafor", role="attending", text="Let's review bed 4, a 67-year-old with sepsis."
        ),
        Utterance(
            speaker="Nurse Lee",
            role="nurse",
            text="Morning labs are back.",
            attachments=[
                TableAttachment(
                    title="Basic metabolic panel",
                    columns=["analyte", "value", "unit", "range"],
                    rows=[["potassium", "5.9", "mmol/L", "3.5-5.1"], ["sodium", "139", "mmol/L", "135-145"]],
                )
            ],
        ),
        Utterance(
            speaker="Dr. Patel",
            role="resident",
            text="Assistant, what stands out in these labs?",
            attachments=[
                ImageAttachment(
                    title="Rhythm strip",
                    path=f"images/ecg-{pair:05d}.png",
                    truth={"rhythm": "atrial fibrillation", "rate": 112},
                )
            ],
        ),
        Utterance(
            speaker="Dr. Patel", role="resident", text=f"Weight is {weight}; start vancomycin 15 mg/kg."
        ),
        Utterance(speaker="Dr. Okafor", role="attending", text="Sounds good."),
    ]
    slots = [
        Slot(index=0),
        Slot(index=1),
        Slot(
            index=2,
            category=Category.lab_interpretation,
            task_id=f"case-{index:05d}-t2",
            gold_behavior=Behavior.reactive,
            gold_response="Potassium is high at 5.9 mmol/L.",
            target=Target(kind="analytes", answers=["potassium"]),
            evidence=[1],
        ),
        Slot(
            index=3,
            category=Category.error_correction,
            task_id=f"case-{index:05d}-t3",
            gold_behavior=Behavior.silent if control else Behavior.proactive,
            gold_response="" if control else "A weight of 700 kg looks like a unit slip; did you mean 70 kg?",
            target=None if control else Target(kind="issue", answers=["weight"]),
            evidence=[3],
            control_of=f"case-{index - 1:05d}-t3" if control else None,
        ),
        Slot(index=4),
    ]
    return Case(
        case_id=f"case-{index:05d}",
        split=split,
        seed=7,
        version="test",
        setting="ward round",
        patient={"age": 67, "sex": "F"},
        difficulty={"distractor": index % 4 == 0},
        utterances=utterances,
        slots=slots,
    )


def make_cases(count: int) -> list[Case]:
    """Pairs spread over splits: train, train, dev, test, test_unseen, ..."""
    splits = ["train", "train", "dev", "test", "test_unseen"]
    return [make_case(i, splits[(i // 2) % len(splits)]) for i in range(count)]
