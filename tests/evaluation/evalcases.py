"""Small hand-built cases covering every target kind, an image slot, a control and ambient slots."""

from __future__ import annotations

from pathlib import Path

from behaviorbench.dataset.writer import write_dataset
from behaviorbench.schema import Case, ImageAttachment, Slot, TableAttachment, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category


def make_case(index: int, split: str = "test") -> Case:
    """Even cases carry an allergy conflict; odd ones are its control, where no allergy is charted."""
    control = index % 2 == 1
    allergy = "no known allergies" if control else "a penicillin allergy"
    utterances = [
        Utterance(speaker="Dr. Okafor", role="attending", text=f"Bed {index}: 67-year-old, fever and cough."),
        Utterance(
            speaker="Nurse Lee",
            role="nurse",
            text="Labs are back.",
            attachments=[
                TableAttachment(
                    title="Basic metabolic panel",
                    columns=["analyte", "value", "unit", "range"],
                    rows=[["potassium", "5.9", "mmol/L", "3.5-5.0"], ["sodium", "139", "mmol/L", "135-145"]],
                )
            ],
        ),
        Utterance(speaker="Dr. Patel", role="resident", text="Assistant, what stands out in these labs?"),
        Utterance(speaker="Dr. Patel", role="resident", text="Assistant, most likely diagnosis?"),
        Utterance(speaker="Nurse Lee", role="nurse", text=f"The chart lists {allergy}."),
        Utterance(speaker="Dr. Okafor", role="attending", text="Start amoxicillin 1 g three times daily."),
        Utterance(
            speaker="Dr. Okafor",
            role="attending",
            text="Assistant, what rhythm is this?",
            attachments=[
                ImageAttachment(
                    title="Rhythm strip",
                    path="images/ecg-atrial_fibrillation-112-0.png",
                    truth={"rhythm": "atrial_fibrillation", "rate": 112, "variant": 0},
                )
            ],
        ),
        Utterance(
            speaker="Dr. Patel", role="resident", text="Assistant, vancomycin dose at 15 mg/kg for 70 kg?"
        ),
        Utterance(speaker="Nurse Lee", role="nurse", text="Creatinine has been 1.4 for years."),
    ]
    task = f"case-{index:05d}"
    slots = [
        Slot(index=0),
        Slot(index=1),
        Slot(
            index=2,
            category=Category.lab_interpretation,
            task_id=f"{task}-t2",
            gold_behavior=Behavior.reactive,
            gold_response="Potassium is high at 5.9 mmol/L.",
            target=Target(kind="analytes", answers=["potassium"]),
            evidence=[1],
        ),
        Slot(
            index=3,
            category=Category.ddx_reasoning,
            task_id=f"{task}-t3",
            gold_behavior=Behavior.reactive,
            gold_response="Community-acquired pneumonia.",
            target=Target(kind="diagnosis", answers=["community-acquired pneumonia", "pneumonia"]),
            evidence=[0],
        ),
        Slot(index=4),
        Slot(
            index=5,
            category=Category.safety_alert,
            task_id=f"{task}-t5",
            gold_behavior=Behavior.silent if control else Behavior.proactive,
            gold_response="" if control else "Amoxicillin conflicts with the charted penicillin allergy.",
            target=None if control else Target(kind="issue", answers=["penicillin|amoxicillin", "allergy"]),
            evidence=[4, 5],
            control_of=f"case-{index - 1:05d}-t5" if control else None,
        ),
        Slot(
            index=6,
            category=Category.image_reasoning,
            task_id=f"{task}-t6",
            gold_behavior=Behavior.reactive,
            gold_response="Atrial fibrillation.",
            target=Target(kind="rhythm", answers=["atrial fibrillation"]),
            evidence=[6],
        ),
        Slot(
            index=7,
            category=Category.dose_calculation,
            task_id=f"{task}-t7",
            gold_behavior=Behavior.reactive,
            gold_response="1050 mg.",
            target=Target(kind="dose", value=1050, unit="mg"),
            evidence=[7],
        ),
        Slot(
            index=8,
            category=Category.non_actionable,
            task_id=f"{task}-t8",
            gold_behavior=Behavior.silent,
            evidence=[8],
        ),
    ]
    return Case(
        case_id=task,
        split=split,
        seed=7,
        version="test",
        setting="ward round",
        patient={"age": 67},
        utterances=utterances,
        slots=slots,
    )


def make_dataset(out: Path, test_cases: int = 6, dev_cases: int = 2, generator_version: str = "test") -> Path:
    cases = [make_case(i, "test") for i in range(test_cases)]
    cases += [make_case(test_cases + i, "dev") for i in range(dev_cases)]
    write_dataset(out, cases, generator_version=generator_version, seed=7, shard_size=4)
    return out
