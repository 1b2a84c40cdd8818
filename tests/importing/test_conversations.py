"""Hand-written conversations: the documented example imports, validates, evaluates and reports;
bad files are refused with every problem on its own line and nothing written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.dataset import load_cases, load_manifest, validate_dataset
from behaviorbench.evaluation.content import check_content
from behaviorbench.evaluation.results import read_samples
from behaviorbench.importing.convert import gold_response
from behaviorbench.importing.format import SlotIn
from behaviorbench.schema import TableAttachment
from behaviorbench.taxonomy import Behavior, Category

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "example.yaml"
DOCS = Path(__file__).parents[2] / "docs" / "import-format.md"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("import") / "data"
    result = invoke("import", EXAMPLE, "--out", out, "--split", "dev")
    assert result.exit_code == 0, result.output
    assert f"imported 2 cases into {out} (split dev): 6 designated and 5 ambient slots" in result.output
    return out


def test_the_documented_example_is_the_fixture_file():
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("### A complete example", 1)[1].split("```yaml\n", 1)[1].split("```\n", 1)[0]
    assert block == EXAMPLE.read_text(encoding="utf-8")


def test_example_becomes_a_valid_dataset_with_derived_slots(imported):
    assert validate_dataset(imported) == []
    assert load_manifest(imported).generator_version == "import-1"
    cases = {case.case_id: case for case in load_cases(imported)}
    first, twin = cases["sepsis-ed-01"], cases["sepsis-ed-02"]
    assert {case.split for case in cases.values()} == {"dev"}
    assert first.assistant_names == ["Atlas", "the assistant"]
    assert [u.role for u in first.utterances[:3]] == [
        "paramedic",
        "emergency medicine fellow",
        "charge nurse",
    ]
    assert [s.index for s in first.slots] == list(range(len(first.utterances)))
    designated = {s.index: s for s in first.designated}
    assert sorted(designated) == [3, 4, 5, 6, 7]
    assert all(
        s.gold_behavior is Behavior.silent and s.task_id is None for s in first.slots if not s.designated
    )
    assert [s.task_id for s in first.designated] == [f"sepsis-ed-01:t0{k}" for k in range(1, 6)]
    table = first.utterances[2].attachments[0]
    assert isinstance(table, TableAttachment) and table.rows[0] == ["Lactate", "4.1", "mmol/L", "0.5-2.2"]
    dose = designated[7]
    assert (dose.target.kind, dose.target.value, dose.target.unit) == ("dose", 2000.0, "mg")
    assert dose.gold_response == "2000 mg."  # built from the target: the slot has no `why`
    assert designated[6].gold_response == "" and designated[6].category is Category.already_addressed
    assert designated[5].control_of is None
    control = twin.designated[0]
    assert control.control_of == "sepsis-ed-01:t03" and control.gold_behavior is Behavior.silent
    assert control.target is None


def test_every_gold_response_passes_its_own_content_check(imported):
    speaking = [s for case in load_cases(imported) for s in case.designated if s.target is not None]
    assert len(speaking) == 4
    for slot in speaking:
        assert check_content(slot.target, slot.gold_response)[0], slot.task_id


def test_example_is_evaluated_carded_and_reported(imported, tiny_model, tmp_path):
    run = tmp_path / "run"
    result = invoke(
        "eval", "--model", f"hf:{tiny_model}", "--data", imported, "--split", "dev", "--protocol", "tagged",
        "--max-tokens", "8", "--out", run,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    samples, _ = read_samples(run)
    assert len(samples) == 8 + 3
    assert {s.task_id for s in samples if s.designated} == {
        *(f"sepsis-ed-01:t0{k}" for k in range(1, 6)),
        "sepsis-ed-02:t01",
    }
    assert all(s.status in ("ok", "invalid") for s in samples)
    assert invoke("card", imported).exit_code == 0
    card = (imported / "CARD.md").read_text()
    assert "sepsis-ed-01" in card and "These cases were imported" in card
    report = tmp_path / "report.html"
    result = invoke("report", run, "--out", report)
    assert result.exit_code == 0, result.output
    assert report.stat().st_size > 0


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BAD_YAML = """\
case_id: ward-1
setting: ward round
assistant_names: Sage
utterances:
  - speaker: Dr. Ito
    role: registrar
    text: Sage, what's the likely diagnosis?
  - speaker: Kim
    text: I'll page the family.
    speeker: typo
slots:
  - after: 0
    category: ddx_reasoning
    gold: loud
    target: pneumonia
  - after: 9
    category: safety_alert
    gold: proactive
"""


def test_every_problem_is_one_line_naming_file_line_and_field_and_nothing_is_written(tmp_path):
    folder = tmp_path / "cases"
    write(folder / "a.yaml", BAD_YAML)
    lines = [json.dumps(_case("ward-2")), json.dumps({**_case("ward-3"), "setting": None}), "{not json"]
    write(folder / "b.jsonl", "\n".join(lines) + "\n")
    text = json.dumps({**_case("ward-2"), "slots": [_slot(pair="ghost")]}, indent=2)
    pair_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"pair": "ghost"' in line)
    write(folder / "c.json", text)
    out = tmp_path / "out"
    result = invoke("import", folder, "--out", out)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("error: ")]
    expected = [
        f"{folder / 'a.yaml'}:8: utterances.1.role: missing field",
        f"{folder / 'a.yaml'}:10: utterances.1.speeker: unknown field",
        f"{folder / 'a.yaml'}:14: slots.0.gold: unknown value 'loud'",
        f"{folder / 'b.jsonl'}:2: setting: wrong type",
        f"{folder / 'b.jsonl'}:3: json: bad JSON",
        f"{folder / 'c.json'}:2: case_id: duplicate case_id 'ward-2', first at {folder / 'b.jsonl'}:1",
        f"{folder / 'c.json'}:{pair_line}: slots.0.pair: no imported case has case_id 'ghost'",
    ]
    for prefix in expected:
        assert any(line.startswith(f"error: {prefix}") for line in problems), (prefix, problems)
    assert len(problems) == len(expected), problems
    assert f"{len(expected)} problems; nothing written" in result.output
    assert not out.exists()


def test_slot_rules_are_checked_after_the_fields_are_fine(tmp_path):
    text = BAD_YAML.replace("    speeker: typo\n", "    role: nurse\n").replace("gold: loud", "gold: silent")
    result = invoke("import", write(tmp_path / "a.yaml", text), "--out", tmp_path / "out")
    assert result.exit_code == 1
    problems = [line.removeprefix(f"error: {tmp_path / 'a.yaml'}:") for line in result.output.splitlines()]
    assert "14: slots.0.gold: a ddx_reasoning slot is asked a question: gold must be reactive" in problems
    assert "15: slots.0.target: a silent slot has nothing to check; remove the target" in problems
    assert "16: slots.1.after: 9 is past the last utterance (1)" in problems
    assert any(p.startswith("16: slots.1: a proactive slot needs `why`") for p in problems)


def test_twins_must_hold_the_problem_on_exactly_one_side(tmp_path):
    cases = [
        {**_case("a"), "slots": [_slot(pair="b")]},
        {**_case("b"), "slots": [_slot()]},
    ]
    path = write(tmp_path / "pairs.jsonl", "\n".join(json.dumps(c) for c in cases) + "\n")
    result = invoke("import", path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert re.search(
        r"pairs\.jsonl:1: slots\.0\.pair: its twin slot \(b slots\.0\) is also proactive", result.output
    )
    broken = [cases[0], {**cases[1], "setting": ""}]
    write(path, "\n".join(json.dumps(c) for c in broken) + "\n")
    result = invoke("import", path, "--out", tmp_path / "out")
    problems = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert problems == [
        f"error: {path}:2: setting: String should have at least 1 character"
    ]  # the twin's own
    cases[1]["slots"] = [_slot(gold="silent", why=None, target=[])]
    write(path, "\n".join(json.dumps(c) for c in cases) + "\n")
    result = invoke("import", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    control = load_cases(tmp_path / "out")[1].slots[1]
    assert control.control_of == "a:t01"


def test_a_folder_that_holds_anything_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    write(out / "notes.txt", "mine")
    completed = subprocess.run(
        [sys.executable, "-m", "behaviorbench.cli", "import", str(EXAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: --out: {out} exists and is not empty; choose a new folder"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("category", "gold", "target", "expected"),
    [
        ("ddx_reasoning", "reactive", ["septic shock", "sepsis"], "Septic shock."),
        ("lab_interpretation", "reactive", ["potassium", "creatinine"], "Potassium, creatinine."),
        (
            "temporal_ordering",
            "reactive",
            ["fall", "CT head", "admission"],
            "Fall, then CT head, then admission.",
        ),
        ("safety_alert", "proactive", ["warfarin|coumadin", "aspirin"], "Please check: warfarin, aspirin."),
        ("non_actionable", "silent", [], ""),
    ],
)
def test_gold_responses_are_built_from_the_target_when_why_is_absent(category, gold, target, expected):
    slot = SlotIn(after=0, category=category, gold=gold, target=target)
    assert gold_response(slot) == expected
    assert gold_response(slot.model_copy(update={"why": "  Said so.  "})) == ("Said so." if expected else "")


def _case(case_id: str) -> dict:
    return {
        "case_id": case_id,
        "setting": "ward round",
        "assistant_names": ["Sage"],
        "utterances": [
            {"speaker": "Dr. Ito", "role": "registrar", "text": "Patient has a penicillin allergy."},
            {"speaker": "Dr. Ito", "role": "registrar", "text": "Start amoxicillin."},
        ],
    }


def _slot(gold: str = "proactive", why: str | None = "Amoxicillin is a penicillin.", **extra) -> dict:
    slot = {"after": 1, "category": "safety_alert", "gold": gold, "target": ["amoxicillin"], "why": why}
    slot.update(extra)
    return {key: value for key, value in slot.items() if value is not None}
