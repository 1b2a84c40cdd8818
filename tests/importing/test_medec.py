"""MEDEC notes as presentation dramas: gold from the annotation, pairs, label-blind phrasing,
problems named by CSV line and column, and error-flag accuracy read from a real run."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.dataset import load_cases, validate_dataset
from behaviorbench.evaluation.content import check_content
from behaviorbench.evaluation.results import read_samples
from behaviorbench.importing import read_medec
from behaviorbench.importing.flags import flag_accuracy
from behaviorbench.importing.medec import key_terms, notes_to_cases, read_notes, sample_notes
from behaviorbench.taxonomy import Behavior, Category

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "medec-sample.csv"
SHARED = Path(__file__).parents[2] / ".." / "shared" / "data" / "medec"
VALIDATION = SHARED / "MEDEC-MS-ValidationSet-with-GroundTruth-and-ErrorType.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("medec") / "data"
    result = runner.invoke(app, ["import", "--format", "medec", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "imported 4 cases" in result.output  # the two blank rows at the end are skipped
    return out


def test_notes_become_presentation_dramas_with_gold_from_the_annotation(imported):
    assert validate_dataset(imported) == []
    cases = {case.case_id: case for case in load_cases(imported)}
    assert sorted(cases) == ["medec-note-1", "medec-note-2", "medec-note-3", "medec-note-4"]
    for case in cases.values():
        designated = case.designated
        assert len(designated) == 1 and designated[0].index == len(case.utterances) - 1
        assert designated[0].category is Category.error_correction
        presented = " ".join(u.text for u in case.utterances[1:-1])
        assert (
            "amiodarone" in presented
            or "metoprolol" in presented
            or "clinic" in presented
            or "flank" in presented
        )
    wrong = cases["medec-note-1"].designated[0]
    assert wrong.gold_behavior is Behavior.proactive
    assert wrong.target.answers == ["metoprolol"]
    assert (
        "amiodarone for rate control" in wrong.gold_response
        and "metoprolol for rate control" in wrong.gold_response
    )
    assert check_content(wrong.target, wrong.gold_response)[0]
    erroneous = cases["medec-note-1"].utterances[wrong.evidence[0]].text
    assert "He is started on amiodarone for rate control." in erroneous
    assert cases["medec-note-4"].designated[0].target.answers == ["pyelonephritis"]
    control = cases["medec-note-2"].designated[0]  # note-1's corrected text, sentences reordered
    assert control.gold_behavior is Behavior.silent and control.control_of == "medec-note-1:t01"
    assert cases["medec-note-3"].designated[0].control_of is None


def test_phrasing_depends_on_the_note_id_never_on_its_label():
    notes, problems = read_notes(SAMPLE)
    assert problems == []
    wrong = notes[0]
    right = dataclasses.replace(wrong, error=None, corrected=None, corrected_text=None, error_type=None)
    with_error, without = notes_to_cases([wrong], "test")[0], notes_to_cases([right], "test")[0]
    assert with_error.setting == without.setting
    assert with_error.utterances == without.utterances
    assert with_error.designated[0].gold_behavior != without.designated[0].gold_behavior


@pytest.mark.parametrize(
    ("error", "corrected", "terms"),
    [
        ("Culture tests indicate Neisseria gonorrhoeae.", "Culture tests indicate Trichomonas vaginalis.",
         ["Trichomonas vaginalis"]),
        ("The most likely diagnosis is asthma.", "The most likely diagnosis is a pulmonary embolism.",
         ["pulmonary embolism"]),
        ("Patient is treated with oral prednisone.",
         "Patient is started on intravenous acyclovir and admitted for monitoring of renal function.",
         ["intravenous", "acyclovir", "admitted", "monitoring"]),
        ("She was given the drug before surgery.", "She was given the drug after surgery.",
         ["drug", "surgery"]),
    ],
)  # fmt: skip
def test_key_terms_are_what_the_correction_changes(error, corrected, terms):
    assert key_terms(error, corrected) == terms


def _rewrite(rows: list[dict[str, str]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_written(tmp_path):
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames), [row for row in reader if row["Text ID"]]
    rows[1]["Error Flag"] = "yes"
    rows[2]["Text ID"] = "note-1"
    rows[3]["Error Sentence"] = "A sentence the note does not hold."
    bad = tmp_path / "bad.csv"
    bad.write_text(_rewrite(rows, columns), encoding="utf-8")
    starts, line = [], 2  # each record spans several lines: find where each starts
    for row in rows:
        starts.append(line)
        line += _rewrite([row], columns).count("\n") - 1
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", "--format", "medec", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert problems == [
        f"error: {bad}:{starts[1]}: Error Flag: 'yes'; expected 1 (an error) or 0 (none)",
        f"error: {bad}:{starts[2]}: Text ID: duplicate 'note-1', first at line 2",
        f"error: {bad}:{starts[3]}: Error Sentence: does not occur in the note's Text",
    ]
    assert not out.exists()
    missing = tmp_path / "missing.csv"
    missing.write_text(_rewrite([], [c for c in columns if c != "Corrected Sentence"]), encoding="utf-8")
    result = runner.invoke(app, ["import", "--format", "medec", str(missing), "--out", str(out)])
    assert result.exit_code == 1
    assert f"error: {missing}:1: Corrected Sentence: missing column" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        SAMPLE.read_bytes().replace(b"A 30-year-old", "A 30-year-old caf\u00e9".encode("latin-1"))
    )
    result = runner.invoke(app, ["import", "--format", "medec", str(latin), "--out", str(out)])
    assert result.exit_code == 1
    assert f"error: {latin}:1: file: not UTF-8 text" in result.output


def test_error_flag_accuracy_of_a_real_run(imported, tiny_model, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        ["eval", "--model", f"hf:{tiny_model}", "--data", str(imported), "--protocol", "instructed",
         "--no-generate", "--out", str(run)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["flag-accuracy", str(run)])
    assert result.exit_code == 0, result.output
    figures = flag_accuracy(run)
    samples = [s for s in read_samples(run)[0] if s.designated]
    right = sum(
        (s.predicted is Behavior.proactive) == (s.gold_behavior is Behavior.proactive) for s in samples
    )
    assert figures.notes == 4 and figures.accuracy == right / 4
    assert figures.caught + figures.missed == 2 and figures.false_flags + figures.quiet == 2
    assert figures.low <= figures.accuracy <= figures.high
    assert f"error-flag accuracy {figures.accuracy:.3f}" in " ".join(result.output.split())


@pytest.mark.skipif(not VALIDATION.is_file(), reason="the MEDEC validation CSV is not beside the repository")
def test_a_sample_of_the_medec_validation_notes_imports_cleanly():
    notes, problems = read_notes(VALIDATION)
    assert problems == [] and len(notes) == 574
    cases = notes_to_cases(sample_notes(notes, 40, seed=1), "test")
    for case in cases:
        slot = case.designated[0]
        if slot.gold_behavior is Behavior.proactive:
            assert slot.target.answers, case.case_id
            assert check_content(slot.target, slot.gold_response)[0], case.case_id
            assert len(slot.evidence) == 2, case.case_id  # the utterance holding the error, and the plan
    again, problems = read_medec(VALIDATION, "test", sample=40, seed=1)
    assert [case.case_id for case in again] == [case.case_id for case in cases]
