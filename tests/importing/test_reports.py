"""Case reports to facts over real loopback HTTP: recorded replies that pass every stage (after one
retry of a malformed reply), resume and cache, and the project's own server on a tiny model whose
weak replies must be rejected with one line each."""

from __future__ import annotations

import json
from pathlib import Path

from loopback import running_server
from replayserver import ReplayServer
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.importing.reports import ReportFacts, extract_reports, read_extractions

DATA = Path(__file__).parent / "data"
REPORTS = DATA / "reports.jsonl"
RECORDED = DATA / "report-replies.json"
runner = CliRunner()


def build(reports: Path, url: str, out: Path):
    args = ["build", "--from-reports", reports, "--llm", "openai:recorded", "--base-url", url, "--out", out]
    return runner.invoke(app, [str(arg) for arg in args])


def test_recorded_replies_pass_every_stage_and_a_malformed_one_costs_one_retry_then_one_line(tmp_path):
    out = tmp_path / "out"
    with ReplayServer(RECORDED) as server:
        result = build(REPORTS, server.url, out)
        assert result.exit_code == 1, result.output
        assert server.served == {"cr-1": 1, "cr-2": 2, "cr-3": 2}
        resumed = build(REPORTS, server.url, out)  # only the failed report is asked again
        assert server.served == {"cr-1": 1, "cr-2": 2, "cr-3": 4}
        (out / "extractions.jsonl").unlink()
        build(REPORTS, server.url, out)  # the validated replies come from the SQLite cache
        assert server.served == {"cr-1": 1, "cr-2": 2, "cr-3": 6}
    lines = result.output.splitlines()
    assert "cr-1: not in the knowledge base: treatments: frobnazol" in lines
    assert not any(line.startswith("cr-2:") for line in lines)  # everything it names is known
    failures = [line for line in lines if line.startswith("error: ")]
    assert failures == [
        "error: report cr-3: reply is not valid report facts after 2 attempts: not JSON (1 problem)"
    ]
    assert "0 reports extracted this run, 1 failed" in " ".join(resumed.output.split())
    formats = {json.dumps(request["response_format"], sort_keys=True) for request in server.requests}
    assert len(formats) == 1
    schema = json.loads(formats.pop())["json_schema"]
    assert schema["name"] == "report_facts" and schema["schema"] == ReportFacts.model_json_schema()
    retry = next(
        r for r in server.requests if len(r["messages"]) > 2 and "long flight" in r["messages"][1]["content"]
    )
    assert "That reply is invalid: not JSON" in retry["messages"][-1]["content"]

    extractions = {e.report_id: e for e in read_extractions(out)}
    assert sorted(extractions) == ["cr-1", "cr-2"]
    recorded = json.loads(RECORDED.read_text())["replies"]
    assert extractions["cr-1"].facts == ReportFacts.model_validate_json(recorded["cr-1"][0])
    assert extractions["cr-1"].matched == {
        "condition": ["community_acquired_pneumonia"],
        "differential": ["pulmonary_embolism"],
        "analytes": ["creatinine", "potassium", "procalcitonin"],
        "drugs": ["metformin", "ceftriaxone"],
    }
    assert extractions["cr-1"].unmatched == ["treatments: frobnazol"]


def test_the_projects_server_refuses_structured_output_one_line_per_report(tiny_model, tmp_path):
    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    reports = tmp_path / "reports.jsonl"
    reports.write_text(REPORTS.read_text().splitlines()[2] + "\n")
    with running_server(create_app(HFBackend(str(tiny_model), device="cpu"), "tagged")) as url:
        written, failures = extract_reports(
            reports, "openai:tiny", tmp_path / "out", base_url=url, max_tokens=48, progress=False
        )
    assert written == 0
    assert len(failures) == 1
    # The project's server decides a behavior before it writes, so it refuses structured output
    # with a 400 naming the parameter: one line for the report, nothing written.
    assert failures[0].startswith("report cr-3: ") and "response_format" in failures[0]
    assert "\n" not in failures[0]
    assert read_extractions(tmp_path / "out") == []
