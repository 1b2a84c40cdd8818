"""Small hand-built cases covering every target kind, an image slot, a control and ambient slots."""

from __future__ import annotations

from pathlib import Path

from casekit import answer, attending, lab_answer, lab_table, nurse, problem, resident, ward_case

from behaviorbench.dataset.writer import write_dataset
from behaviorbench.schema import Case, ImageAttachment, Slot, Target
from behaviorbench.taxonomy import Category


def make_case(index: int, split: str = "test") -> Case:
    """Even cases carry an allergy conflict; odd ones are its control, where no allergy is charted."""
    control = index % 2 == 1
    allergy = "no known allergies" if control else "a penicillin allergy"
    strip = ImageAttachment(
        title="Rhythm strip",
        path="images/ecg-atrial_fibrillation-112-0.png",
        truth={"rhythm": "atrial_fibrillation", "rate": 112, "variant": 0},
    )
    utterances = [
        attending(f"Bed {index}: 67-year-old, fever and cough."),
        nurse(
            "Labs are back.",
            lab_table(("potassium", "5.9", "mmol/L", "3.5-5.0"), ("sodium", "139", "mmol/L", "135-145")),
        ),
        resident("Assistant, what stands out in these labs?"),
        resident("Assistant, most likely diagnosis?"),
        nurse(f"The chart lists {allergy}."),
        attending("Start amoxicillin 1 g three times daily."),
        attending("Assistant, what rhythm is this?", strip),
        resident("Assistant, vancomycin dose at 15 mg/kg for 70 kg?"),
        nurse("Creatinine has been 1.4 for years."),
    ]
    task = f"case-{index:05d}"
    slots = [
        Slot(index=0),
        Slot(index=1),
        lab_answer(2, f"{task}-t2"),
        answer(
            3,
            Category.ddx_reasoning,
            f"{task}-t3",
            "Community-acquired pneumonia.",
            Target(kind="diagnosis", answers=["community-acquired pneumonia", "pneumonia"]),
            evidence=[0],
        ),
        Slot(index=4),
        problem(
            5,
            Category.safety_alert,
            f"{task}-t5",
            "Amoxicillin conflicts with the charted penicillin allergy.",
            Target(kind="issue", answers=["penicillin|amoxicillin", "allergy"]),
            control_of=f"case-{index - 1:05d}-t5" if control else None,
            evidence=[4, 5],
        ),
        answer(
            6,
            Category.image_reasoning,
            f"{task}-t6",
            "Atrial fibrillation.",
            Target(kind="rhythm", answers=["atrial fibrillation"]),
            evidence=[6],
        ),
        answer(
            7,
            Category.dose_calculation,
            f"{task}-t7",
            "1050 mg.",
            Target(kind="dose", value=1050, unit="mg"),
            [7],
        ),
        Slot(index=8, category=Category.non_actionable, task_id=f"{task}-t8", evidence=[8]),
    ]
    return ward_case(task, utterances, slots, split=split, seed=7)


def make_dataset(out: Path, test_cases: int = 6, dev_cases: int = 2, generator_version: str = "test") -> Path:
    cases = [make_case(i, "test") for i in range(test_cases)]
    cases += [make_case(test_cases + i, "dev") for i in range(dev_cases)]
    write_dataset(out, cases, generator_version=generator_version, seed=7, shard_size=4)
    return out
