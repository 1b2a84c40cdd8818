"""Slots are held to their gold: a problem slot exactly its problem, any other slot nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from casekit import attending, nurse, problem, ward_case

from behaviorbench.checking import check_case
from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.knowledge import KnowledgeBase, load_knowledge_base
from behaviorbench.schema import Slot, Target
from behaviorbench.taxonomy import Behavior, Category

ENTRY_POINT = Path(sys.executable).parent / "behaviorbench"
PATIENT = {
    "condition": "pyelonephritis",
    "sex": "male",
    "age": 70,
    "weight_kg": 75,
    "height_cm": 175,
    "crcl_ml_min": 60,
    "allergies": [{"class": "penicillin", "reaction": "hives"}],
    "home_meds": ["warfarin"],
    "states": [],
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def allergy_case(line: str, slot: Slot):
    return ward_case(
        "v1",
        [nurse("Allergy band says penicillin, hives."), attending(line)],
        [Slot(index=0), slot],
        patient=PATIENT,
    )


def alert(answers: list[str], control_of: str | None = None) -> Slot:
    slot = problem(
        1, Category.safety_alert, "v1:t01", "flag", Target(kind="issue", answers=answers), control_of
    )
    return slot.model_copy(update={"subtype": "allergy"})


def test_a_problem_slot_holding_its_problem_passes(kb):
    report = check_case(
        kb, allergy_case("Start ampicillin 2 g IV every 6 hours.", alert(["ampicillin", "penicillin"]))
    )
    assert report.findings == []
    assert report.matched["allergy"] == 1 and report.slots["problem"] == 1


def test_a_problem_slot_without_its_problem_is_missed(kb):
    report = check_case(kb, allergy_case("Start ceftriaxone 1 g IV every 24 hours.", alert(["ceftriaxone"])))
    assert [f.kind for f in report.findings] == ["missed"]


def test_a_problem_slot_with_a_second_problem_reports_the_extra_one(kb):
    # ampicillin is the intended allergy; naproxen with home warfarin is a second problem
    line = "Start ampicillin 2 g IV every 6 hours and naproxen 500 mg PO twice daily."
    report = check_case(kb, allergy_case(line, alert(["ampicillin"])))
    assert [f.kind for f in report.findings] == ["extra:interaction"]


def test_a_control_slot_with_a_problem_is_a_finding(kb):
    control = alert(["ampicillin"], control_of="v0:t01")
    assert control.gold_behavior is Behavior.silent
    report = check_case(kb, allergy_case("Start ampicillin 2 g IV every 6 hours.", control))
    assert [f.kind for f in report.findings] == ["allergy"]


def test_problems_outside_the_knowledge_base_are_counted_not_checked(kb):
    slot = problem(1, Category.consistency_check, "v1:t01", "flag", Target(kind="issue", answers=["left"]))
    case = ward_case(
        "v1",
        [nurse("Left knee."), attending("Right knee it is.")],
        [Slot(index=0), slot.model_copy(update={"subtype": "laterality"})],
        patient=PATIENT,
    )
    report = check_case(kb, case)
    assert report.findings == [] and report.slots["problem_unchecked"] == 1


def test_the_command_prints_one_line_per_finding_and_exits_1(kb, tmp_path):
    bad = allergy_case("Start ampicillin 2 g IV every 6 hours.", alert(["ampicillin"], control_of="v0:t01"))
    good = allergy_case("Start ampicillin 2 g IV every 6 hours.", alert(["ampicillin", "penicillin"]))
    path = tmp_path / "cases.jsonl"
    path.write_text(case_to_line(bad) + "\n" + case_to_line(good.model_copy(update={"case_id": "v2"})) + "\n")
    result = subprocess.run([ENTRY_POINT, "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines() if line.startswith("v")]
    assert lines == [["v1", "1", "allergy", lines[0][3]]]
    assert "penicillin" in lines[0][3]
    assert "all" in result.stdout


def test_a_missing_path_is_one_error_line(tmp_path):
    result = subprocess.run([ENTRY_POINT, "check", str(tmp_path / "none")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: ") and "\n" not in result.stderr.strip()
