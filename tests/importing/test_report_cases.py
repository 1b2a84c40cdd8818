"""Case reports to a dataset over real loopback HTTP: one report through every stage (extraction,
the story writer, a dataset that validates), and the rewriting of lines, accepted and rejected,
with recorded replies and with the project's own server on a tiny model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from loopback import running_server
from replayserver import ReplayServer
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.taxonomy import Behavior

DATA = Path(__file__).parent / "data"
RECORDED = DATA / "report-replies.json"
runner = CliRunner()


def one_report(tmp_path: Path, report_id: str = "cr-1") -> Path:
    lines = (DATA / "reports.jsonl").read_text().splitlines()
    path = tmp_path / f"{report_id}.jsonl"
    path.write_text(next(line for line in lines if f'"{report_id}"' in line) + "\n")
    return path


def build(reports: Path, url: str, out: Path, *extra: str, llm: str = "openai:recorded"):
    args = ["build", "--from-reports", reports, "--llm", llm, "--base-url", url, "--out", out, *extra]
    return runner.invoke(app, [str(arg) for arg in args])


def cases_of(out: Path) -> dict:
    return {case.case_id: case for case in iter_cases(out)}


def test_a_report_passes_every_stage_into_a_dataset_that_validates(tmp_path):
    out = tmp_path / "out"
    with ReplayServer(RECORDED) as server:
        result = build(one_report(tmp_path), server.url, out)
    assert result.exit_code == 0, result.output
    assert validate_dataset(out) == []
    cases = cases_of(out)
    assert sorted(cases) == ["cr-1-a", "cr-1-b"]
    first, second = cases["cr-1-a"], cases["cr-1-b"]
    patient = first.patient
    assert patient == second.patient
    assert (patient["condition"], patient["sex"], patient["age"]) == (
        "community_acquired_pneumonia",
        "male",
        64,
    )
    assert (patient["weight_kg"], patient["creatinine_mg_dl"]) == (82, 1.1)
    assert {"class": "penicillin", "reaction": "rash"} in patient["allergies"]
    assert "metformin" in patient["home_meds"]
    assert patient["vitals"]["heart_rate"] == 104 and patient["vitals"]["temperature"] == 38.6
    assert "64-year-old man" in first.utterances[0].text
    assert "82 kg" in first.utterances[1].text
    # Twins: each problem in one case is a control in the other, both ways.
    for case, twin in ((first, second), (second, first)):
        problems = {
            s.task_id for s in case.slots if s.gold_behavior is Behavior.proactive and not s.control_of
        }
        assert problems and problems == {s.control_of for s in twin.slots if s.control_of}
    summary = json.loads((out / "from-reports.json").read_text())
    assert summary["reports"] == [
        {
            "report_id": "cr-1",
            "cases": ["cr-1-a", "cr-1-b"],
            "unmatched": ["treatments: frobnazol"],
            "not_used": [],
            "error": None,
        }
    ]
    assert "cr-1: not in the knowledge base: treatments: frobnazol" in result.output
    assert runner.invoke(app, ["card", str(out)]).exit_code == 0


def test_a_dataset_built_from_reports_is_evaluated_and_reported_like_any_other(tiny_model, tmp_path):
    out, run = tmp_path / "out", tmp_path / "run"
    with ReplayServer(RECORDED) as server:
        assert build(one_report(tmp_path), server.url, out).exit_code == 0
    split = next(iter(cases_of(out).values())).split
    args = ["eval", "--model", f"hf:{tiny_model}", "--data", out, "--split", split, "--no-generate"]
    result = runner.invoke(app, [str(arg) for arg in [*args, "--bootstrap", "20", "--out", run]])
    assert result.exit_code == 0, result.output
    results = json.loads((run / "results.json").read_text())
    designated = sum(s.designated for case in cases_of(out).values() for s in case.slots)
    assert results["metrics"]["counts"]["designated"] == designated
    report = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(run), "--out", str(report)]).exit_code == 0
    assert "cr-1-a" in (run / "samples.jsonl").read_text() and report.stat().st_size > 0


def garble_numbers(line: str) -> str:
    """A rewrite that changes a dose or a value when the line has one (rejected), else one that
    only adds a lead-in (accepted)."""
    if re.search(r"\d", line):
        return re.sub(r"\d+", lambda m: str(int(m.group(0)) + 1), line, count=1)
    return f"So: {line}"


def test_naturalize_keeps_accepted_rewrites_identical_across_twins_and_templates_for_the_rest(tmp_path):
    plain, natural = tmp_path / "plain", tmp_path / "natural"
    report = one_report(tmp_path)
    with ReplayServer(RECORDED, rewrite=garble_numbers) as server:
        assert build(report, server.url, plain).exit_code == 0
        result = build(report, server.url, natural, "--naturalize")
        asked = len(server.rewrites)
        again = build(report, server.url, natural, "--naturalize")  # every rewrite from the cache
        assert len(server.rewrites) == asked
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if line.startswith("naturalize:")]
    assert said and said == [line for line in again.output.splitlines() if line.startswith("naturalize:")]
    assert validate_dataset(natural) == []
    assert asked == len(set(server.rewrites))  # each distinct line asked once
    summary = json.loads((natural / "from-reports.json").read_text())["naturalize"]
    assert 0 < summary["rewritten"] < summary["utterances"]
    assert summary["rejected_by_reason"]["numbers"] > 0
    assert (
        f"naturalize: {summary['rewritten']} of {summary['utterances']} utterances rewritten" in result.output
    )
    before, after = cases_of(plain), cases_of(natural)
    mapping: dict[str, set[str]] = {}
    for case_id, case in before.items():
        for old, new in zip(case.utterances, after[case_id].utterances, strict=True):
            mapping.setdefault(old.text, set()).add(new.text)
            assert new.text in (old.text, f"So: {old.text}")  # a changed number never gets through
            assert new.speaker == old.speaker
        assert after[case_id].slots == case.slots
    assert all(len(texts) == 1 for texts in mapping.values())  # same line, same text, in both twins


def test_the_projects_server_gives_weak_rewrites_that_are_rejected_without_a_crash(tiny_model, tmp_path):
    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    out = tmp_path / "out"
    report = one_report(tmp_path, "cr-2")
    with ReplayServer(RECORDED) as server:
        assert build(report, server.url, out).exit_code == 0  # facts recorded; resumed below
    plain = {c.case_id: c for c in iter_cases(out)}
    with running_server(create_app(HFBackend(str(tiny_model), device="cpu"), "tagged")) as url:
        result = build(report, url, out, "--naturalize", llm="openai:tiny")
    assert result.exit_code == 0, result.output
    assert validate_dataset(out) == []
    summary = json.loads((out / "from-reports.json").read_text())["naturalize"]
    assert summary["utterances"] == sum(len(c.utterances) for c in plain.values())
    assert summary["rewritten"] == 0  # random tokens keep no invariant
    assert sum(summary["rejected_by_reason"].values()) == summary["utterances"]
    assert {c.case_id: c for c in iter_cases(out)} == plain
