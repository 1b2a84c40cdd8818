"""Hand-built cases: small, valid, and covering tables, images, designated slots and controls."""

from __future__ import annotations

from casekit import attending, lab_answer, lab_table, nurse, problem, resident, ward_case

from behaviorbench.schema import Case, ImageAttachment, Slot, Target
from behaviorbench.taxonomy import Category


def make_case(index: int, split: str = "train") -> Case:
    """Twin cases 2k (problem present) and 2k+1 (its control) share a scene."""
    control = index % 2 == 1
    pair = index // 2
    weight = "70 kg" if control else "700 kg"
    strip = ImageAttachment(
        title="Rhythm strip",
        path=f"images/ecg-{pair:05d}.png",
        truth={"rhythm": "atrial fibrillation", "rate": 112},
    )
    utterances = [
        attending("Let's review bed 4, a 67-year-old with sepsis."),
        nurse("Morning labs are back.", lab_table()),
        resident("Assistant, what stands out in these labs?", strip),
        resident(f"Weight is {weight}; start vancomycin 15 mg/kg."),
        attending("Sounds good."),
    ]
    slots = [
        Slot(index=0),
        Slot(index=1),
        lab_answer(2, f"case-{index:05d}-t2"),
        problem(
            3,
            Category.error_correction,
            f"case-{index:05d}-t3",
            "A weight of 700 kg looks like a unit slip; did you mean 70 kg?",
            Target(kind="issue", answers=["weight"]),
            control_of=f"case-{index - 1:05d}-t3" if control else None,
            evidence=[3],
        ),
        Slot(index=4),
    ]
    return ward_case(
        f"case-{index:05d}",
        utterances,
        slots,
        split=split,
        seed=7,
        patient={"age": 67, "sex": "F"},
        difficulty={"distractor": index % 4 == 0},
    )


def make_cases(count: int) -> list[Case]:
    """Pairs spread over splits: train, train, dev, test, test_unseen, ..."""
    splits = ["train", "train", "dev", "test", "test_unseen"]
    return [make_case(i, splits[(i // 2) % len(splits)]) for i in range(count)]
