"""Hold every slot to what it should contain: a problem slot exactly its intended problem, every
other slot (ambient, control, reactive) nothing the knowledge base sees as a problem."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from behaviorbench.checking.checks import Chart, Finding, check_utterance
from behaviorbench.knowledge.models import KnowledgeBase
from behaviorbench.schema import Case, Slot
from behaviorbench.taxonomy import Behavior, Category

EXPECTED: dict[tuple[Category, str], frozenset[str]] = {
    (Category.safety_alert, "allergy"): frozenset({"allergy"}),
    (Category.safety_alert, "interaction"): frozenset({"interaction"}),
    (Category.safety_alert, "contraindication"): frozenset({"contraindication", "pregnancy", "renal"}),
    (Category.safety_alert, "critical"): frozenset({"critical"}),
    (Category.error_correction, "dose"): frozenset({"dose", "renal"}),
    (Category.error_correction, "unit"): frozenset({"unit", "dose"}),
    (Category.error_correction, "frequency"): frozenset({"frequency", "renal"}),
    (Category.error_correction, "lab"): frozenset({"implausible", "transposed", "stale"}),
    (Category.omission_detection, "precheck"): frozenset({"precheck"}),
    (Category.ambiguity_clarification, "units"): frozenset({"ambiguous"}),
    (Category.ambiguity_clarification, "abbreviation"): frozenset({"abbreviation"}),
}
"""The finding kinds that are a problem slot's intended problem, by (category, subtype). Other
problem subtypes (a mistyped weight, a laterality slip, two patients with one name) are
about the record's consistency, which the knowledge base cannot see: they are counted, not checked."""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    """Everything wrong: a finding at a slot that should be clean, a problem slot whose problem
    is missing (kind `missed`) or that holds another problem too (kind `extra:<kind>`)."""
    slots: Counter[str] = field(default_factory=Counter)
    """Slots checked, by what they should hold: clean, problem, problem_unchecked."""
    matched: Counter[str] = field(default_factory=Counter)
    """Problem slots whose intended problem was found, by kind."""
    cases: int = 0

    def add(self, other: Report) -> None:
        self.findings += other.findings
        self.slots.update(other.slots)
        self.matched.update(other.matched)
        self.cases += other.cases


def is_problem(slot: Slot) -> bool:
    return slot.gold_behavior is Behavior.proactive and slot.control_of is None


def check_case(kb: KnowledgeBase, case: Case) -> Report:
    """Read the case in order, checking every utterance, and hold each slot to its gold."""
    report = Report(cases=1)
    chart = Chart(kb, case)
    slots = {slot.index: slot for slot in case.slots}
    for index, utterance in enumerate(case.utterances):
        findings = check_utterance(chart, index, utterance)
        slot = slots.get(index)
        if slot is None:
            continue
        if not is_problem(slot):
            report.slots["clean"] += 1
            report.findings += findings
            continue
        expected = EXPECTED.get((slot.category, slot.subtype or "")) if slot.category else None
        if expected is None:
            report.slots["problem_unchecked"] += 1
            continue
        report.slots["problem"] += 1
        report.findings += _hold_to(case, slot, expected, findings, report)
    return report


def _hold_to(
    case: Case, slot: Slot, expected: frozenset[str], findings: list[Finding], report: Report
) -> list[Finding]:
    """The intended problem must be found about the target; nothing else may be."""
    answers = [
        a.lower() for answer in (slot.target.answers if slot.target else []) for a in answer.split("|")
    ]

    def about_target(finding: Finding) -> bool:
        subject = finding.subject.lower()
        return not answers or any(
            a in subject or subject in a or a in finding.detail.lower() for a in answers
        )

    intended = [f for f in findings if f.kind in expected and about_target(f)]
    wrong = []
    if intended:
        report.matched[intended[0].kind] += 1
    else:
        what = f"{slot.category.value if slot.category else ''}/{slot.subtype}"
        target = ", ".join(answers)
        wrong.append(Finding(case.case_id, slot.index, "missed", target, f"{what} about {target} not found"))
    wrong += [
        Finding(f.case_id, f.slot, f"extra:{f.kind}", f.subject, f.detail)
        for f in findings
        if f not in intended
    ]
    return wrong
