"""Hand-built cases and simulated runs written as real run directories.

A simulated model draws behavior logits around the gold behavior (skill), leans towards or away
from speaking up (lean), and records the softmax as its probabilities, so calibration, reports and
hard selection read the same files an evaluation would write.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from casekit import answer, attending, nurse, problem, resident, ward_case

from behaviorbench.dataset.manifest import dataset_fingerprint
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import (
    RunIdentity,
    RunResults,
    rewrite_samples,
    write_identity,
    write_results,
)
from behaviorbench.schema import Case, Slot, Target, Utterance
from behaviorbench.taxonomy import BEHAVIORS, GROUP_OF, PROACTIVE_CATEGORIES, Behavior, Category

PROBLEMS = {
    Category.error_correction: (
        "Give vancomycin 15 g IV now.",
        "Give vancomycin 1.5 g IV now.",
        "15 g of vancomycin looks like a tenfold slip; 15 mg/kg is about 1.5 g.",
    ),
    Category.consistency_check: (
        "No known allergies, so amoxicillin is fine.",
        "Allergy list is clear and she confirms none, so amoxicillin is fine.",
        "The chart lists a penicillin allergy, which contradicts 'no known allergies'.",
    ),
    Category.omission_detection: (
        "Let's send her for the contrast CT.",
        "Creatinine was 0.8 this morning, so let's send her for the contrast CT.",
        "Nobody has checked renal function before IV contrast.",
    ),
    Category.ambiguity_clarification: (
        "Restart her home meds.",
        "Restart the home meds from the pharmacy list we reconciled.",
        "There are two home medication lists; which one should be restarted?",
    ),
    Category.safety_alert: (
        "Start ciprofloxacin; she is already on methadone and her QTc is 520 ms.",
        "Start ciprofloxacin; her QTc is 410 ms.",
        "Ciprofloxacin with methadone and a QTc of 520 ms risks torsades.",
    ),
}
QUESTIONS = {
    Category.ddx_reasoning: (
        "Assistant, what is the most likely diagnosis?",
        "Community-acquired pneumonia.",
    ),
    Category.lab_interpretation: (
        "Assistant, what stands out in these labs?",
        "Potassium is high at 5.9 mmol/L.",
    ),
    Category.dose_calculation: (
        "Assistant, what dose of enoxaparin for 80 kg?",
        "80 mg subcutaneously every 12 h.",
    ),
    Category.treatment_recommendation: ("Assistant, first-line therapy?", "Ceftriaxone plus azithromycin."),
}
KNOBS = ("subtle_deviation", "distractor_abnormality", "long_range_evidence", "already_addressed")


def make_case(index: int, split: str) -> Case:
    """Cases 2k (problem present) and 2k+1 (its control) are twins sharing everything else."""
    pair, control = index // 2, index % 2 == 1
    category = PROACTIVE_CATEGORIES[pair % len(PROACTIVE_CATEGORIES)]
    question = list(QUESTIONS)[pair % len(QUESTIONS)]
    restraint = Category.already_addressed if pair % 2 else Category.non_actionable
    positive, safe, flag = PROBLEMS[category]
    ask, reply = QUESTIONS[question]
    utterances = [
        attending(f"Next is bed {pair % 20 + 1}, a 67-year-old admitted overnight."),
        nurse("Vitals are stable; she slept well."),
        resident(ask),
        resident(safe if control else positive),
        Utterance(
            speaker="Ms. Haddad",
            role="pharmacist",
            text="Her creatinine of 1.3 is her baseline; nothing to change.",
        ),
        attending("Good, let's move on."),
    ]
    task = f"c{index:04d}"
    slots = [
        Slot(index=0),
        Slot(index=1),
        answer(2, question, f"{task}-t2", reply, Target(kind="treatment", answers=[reply])),
        problem(
            3,
            category,
            f"{task}-t3",
            flag,
            Target(kind="issue", answers=[flag]),
            control_of=f"c{index - 1:04d}-t3" if control else None,
        ),
        Slot(index=4, category=restraint, task_id=f"{task}-t4"),
        Slot(index=5),
    ]
    knobs = {KNOBS[pair % 4]: pair % 5 == 0, KNOBS[(pair + 1) % 4]: pair % 3 == 0}
    return ward_case(f"case-{index:04d}", utterances, slots, split=split, seed=11, difficulty=knobs)


def make_dataset(out: Path, pairs: int = 12) -> Path:
    """`pairs` twin pairs, alternately in dev and test, written in the dataset layout."""
    cases = [make_case(i, "dev" if (i // 2) % 2 == 0 else "test") for i in range(2 * pairs)]
    write_dataset(out, cases, generator_version="test", seed=11)
    return out


def simulate(
    cases: list[Case],
    skill: float,
    lean: float,
    seed: int,
    probabilities: bool = True,
    invalid: float = 0.0,
    bias: float = 0.0,
) -> list[Sample]:
    """Samples of a simulated model: logits = skill on the gold behavior + lean on proactive + noise.

    `bias` plays the harness's --proactive-bias: added to the proactive logit before the softmax,
    so the recorded probabilities include it, as the harness records them.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for case in cases:
        for slot in case.slots:
            logits = rng.normal(0.0, 1.0, len(BEHAVIORS))
            logits[BEHAVIORS.index(slot.gold_behavior)] += skill
            logits[BEHAVIORS.index(Behavior.proactive)] += lean + bias
            if not slot.designated:
                logits[BEHAVIORS.index(Behavior.silent)] += 1.5
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
            predicted = (
                BEHAVIORS[int(np.argmax(probs))] if probabilities else BEHAVIORS[rng.choice(3, p=probs)]
            )
            status = "invalid" if rng.random() < invalid else "ok"
            lucky = rng.random() < 0.8
            right = predicted is slot.gold_behavior
            speaks = status == "ok" and predicted is not Behavior.silent
            samples.append(
                Sample(
                    case_id=case.case_id,
                    slot=slot.index,
                    split=case.split,
                    category=slot.category,
                    group=GROUP_OF[slot.category] if slot.category else None,
                    task_id=slot.task_id,
                    control_of=slot.control_of,
                    gold_behavior=slot.gold_behavior,
                    predicted=predicted if status == "ok" else None,
                    status=status,
                    probabilities={b: float(p) for b, p in zip(BEHAVIORS, probs, strict=True)}
                    if probabilities and status == "ok"
                    else None,
                    raw_output="[UNSURE] maybe" if status == "invalid" else predicted.value,
                    response=(slot.gold_response if right else "Consider checking the plan.")
                    if speaks
                    else "",
                    prompt_hash=hashlib.sha256(f"{case.case_id}/{slot.index}".encode()).hexdigest()[:16],
                    content_pass=(right and status == "ok" and lucky) if slot.target else None,
                )
            )
    return samples


def write_run(
    run_dir: Path,
    samples: list[Sample],
    model: str,
    split: str,
    data_dir: Path | None = None,
    fingerprint: str | None = None,
    proactive_bias: float = 0.0,
) -> Path:
    """A run directory written with the harness's own writers: run.json, samples.jsonl, results.json."""
    identity = RunIdentity(
        model=model,
        protocol="token",
        dataset_fingerprint=fingerprint or dataset_fingerprint(data_dir),
        split=split,
        judge=None,
        seed=0,
        max_tokens=96,
        temperature=0.0,
        proactive_bias=proactive_bias,
        generate=True,
    )
    write_identity(run_dir, identity)
    rewrite_samples(run_dir, samples)
    results = RunResults(
        run=identity,
        dataset_dir=str(data_dir) if data_dir else None,
        generator_version="test",
        limit=None,
        git_commit="0123abc",
        versions={"behaviorbench": "0.1.0", "torch": None},
        timings=None,
        metrics=score_samples(samples, n_bootstrap=0),
    )
    write_results(run_dir, results)
    return run_dir
