"""The comparison report: numbers from the scorer, self-contained HTML, markdown, and bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from run_factory import make_dataset, simulate, write_run

from behaviorbench.dataset.reader import load_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.paired import paired_differences
from behaviorbench.reporting.report import load_report, percent, render_html, render_markdown
from behaviorbench.reporting.runs import load_run


@pytest.fixture(scope="module")
def report(runs: dict[str, Path]):
    return load_report([runs["sft"], runs["zero"]], examples=6, n_bootstrap=200)


@pytest.fixture(scope="module")
def html(report) -> str:
    return render_html(report)


def test_headline_numbers_come_from_the_scorer(report, runs: dict[str, Path]):
    markdown = render_markdown(report)
    for name in ("sft", "zero"):
        scores = score_samples(load_run(runs[name]).samples, n_bootstrap=200)
        row = next(line for line in markdown.splitlines() if line.startswith(f"| {name} |"))
        cells = [cell.split(" [")[0].strip().strip("*") for cell in row.strip("|").split("|")]
        expected = [percent(scores.macro_f1), percent(scores.proactive_f1), percent(scores.reactive_f1)]
        assert cells[2:5] == expected
        assert cells[-1] == str(scores.counts.invalid + scores.counts.errored)
        ci = scores.ci["macro_f1"]
        assert f"[{100 * ci.low:.1f}–{100 * ci.high:.1f}]" in row
    assert "### By group" in markdown
    # The zero-shot run was simulated with invalid replies; the report counts them.
    assert score_samples(load_run(runs["zero"]).samples, n_bootstrap=0).counts.invalid > 0


def test_paired_differences_put_the_later_run_first_and_bold_only_clear_ones(report, html: str, runs):
    # Runs are given as [sft, zero]: the later run, zero, comes first in each difference.
    expected = paired_differences(
        load_run(runs["zero"]).samples, load_run(runs["sft"]).samples, "zero", "sft", n_bootstrap=200
    )
    assert report.differences == expected
    row = re.search(r'<tr data-pair="zero\|sft">(.*?)</tr>', html, re.S).group(1)
    for difference in expected:
        cell = re.search(rf'<td class="num( best)?" data-metric="{difference.metric}">(.*?)</td>', row, re.S)
        assert f"{100 * difference.difference:+.1f}" in cell.group(2)
        assert bool(cell.group(1)) == (difference.low > 0 or difference.high < 0)
    markdown = render_markdown(report)
    assert "### Paired differences" in markdown and "| zero − sft |" in markdown
    assert load_report([runs["sft"]], n_bootstrap=50).differences == []
    assert 'id="paired"' not in render_html(load_report([runs["sft"]], n_bootstrap=50))


def test_html_is_self_contained(report, html: str):
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) == 3 + len(report.runs)  # groups, categories, operating points, one confusion per run
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "url(" not in html and "<script" not in html and "<link" not in html


def test_examples_show_disagreements_with_context(report, html: str, data_dir: Path):
    cases = {c.case_id: c for c in load_cases(data_dir)}
    assert 0 < len(report.examples) <= 6
    assert len({e.category for e in report.examples}) > 1  # spread over categories
    for example in report.examples:
        behaviors = {answer.behavior for answer in example.answers}
        assert len(behaviors) > 1
        case = cases[example.case_id]
        assert example.context[-1].text == case.utterances[example.slot].text
        assert example.gold_behavior == case.slots[example.slot].gold_behavior.value
    first = report.examples[0]
    assert first.context[0].text.replace("'", "&#39;") in html


def test_provenance_names_dataset_model_and_versions(report, html: str):
    assert report.fingerprint in html
    assert "git_commit" in html and "0123abc" in html
    assert "proactive_bias" in html and "behaviorsft" in html


def test_report_command_writes_html_and_markdown(runs: dict[str, Path], run_main: Callable, tmp_path: Path):
    code, err = run_main(
        "report", runs["sft"], runs["zero"], "--out", tmp_path / "r.html", "--bootstrap", "50"
    )
    assert code == 0, err
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    code, err = run_main(
        "report", runs["sft"], "--out", tmp_path / "r.md", "--format", "md", "--bootstrap", "50"
    )
    assert code == 0, err
    assert (tmp_path / "r.md").read_text().startswith("## BehaviorBench results")


def test_runs_of_different_datasets_are_refused(runs: dict[str, Path], run_main: Callable, tmp_path: Path):
    other = make_dataset(tmp_path / "other", pairs=4)
    foreign = write_run(
        tmp_path / "foreign", simulate(load_cases(other, "test"), 1.0, 0.0, 0), "m", "test", other
    )
    code, err = run_main("report", runs["sft"], foreign, "--out", tmp_path / "r.html")
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "foreign" in err and "must score the same dataset" in err
    assert not (tmp_path / "r.html").exists()


def test_a_dataset_that_does_not_match_the_runs_is_refused(runs: dict[str, Path], tmp_path: Path):
    other = make_dataset(tmp_path / "other", pairs=4)
    with pytest.raises(BehaviorBenchError, match="differs from the runs'"):
        load_report([runs["sft"]], data=other)


def test_a_bad_sample_line_names_file_line_and_field(runs: dict[str, Path], tmp_path: Path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "results.json").write_text((runs["sft"] / "results.json").read_text())
    lines = (runs["sft"] / "samples.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"status":"ok"', '"status":"maybe"')
    (broken / "samples.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(BehaviorBenchError, match=r"samples.jsonl:3: status: "):
        load_run(broken)
