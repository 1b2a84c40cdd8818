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
from behaviorbench.evaluation.results import read_results, write_results
from behaviorbench.evaluation.usage import Cost, TokenUsage
from behaviorbench.reporting import plots
from behaviorbench.reporting.calibration import apply_bias, write_calibration
from behaviorbench.reporting.report import (
    FEW_SLOTS,
    _entries,
    load_report,
    percent,
    render_html,
    render_markdown,
    takeaway,
)
from behaviorbench.reporting.runs import load_run
from behaviorbench.taxonomy import Behavior


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
        cells = [
            cell.split(" [")[0].split(" (n=")[0].strip().strip("*") for cell in row.strip("|").split("|")
        ]
        classes = [percent(scores.per_class[b].f1) for b in ("reactive", "proactive", "silent")]
        groups = [percent(scores.proactive_f1), percent(scores.reactive_f1), percent(scores.restraint_f1)]
        assert cells[2:9] == [percent(scores.macro_f1), *classes, *groups]
        assert cells[10] == percent(scores.proactive_auc)
        assert cells[-1] == str(scores.counts.invalid + scores.counts.errored)
        ci = scores.ci["macro_f1"]
        assert f"[{100 * ci.low:.1f}–{100 * ci.high:.1f}]" in row
    header = next(line for line in markdown.splitlines() if line.startswith("| Run |"))
    assert "| F1 proactive | F1 silent | Proactive group score |" in header
    assert "| False alarms | Proactive AUC |" in header
    assert "Proactive F1" not in markdown and "### By group" in markdown
    # The zero-shot run was simulated with invalid replies; the report counts them.
    assert score_samples(load_run(runs["zero"]).samples, n_bootstrap=0).counts.invalid > 0


def test_cells_on_few_slots_show_their_count_and_are_never_bold(report, html: str):
    restraint = report.runs[0].scores.groups["restraint"].samples
    assert restraint < FEW_SLOTS  # 24 test cases, one restraint slot each
    for name in ("sft", "zero"):
        row = re.search(rf'<tr data-run="{name}">(.*?)</tr>', html, re.S).group(1)
        cell = re.search(r'<td class="num( best)?" data-metric="restraint_f1">(.*?)</td>', row, re.S)
        assert cell.group(1) is None and f"n={restraint}" in cell.group(2)
        macro = re.search(r'<td class="num( best)?" data-metric="macro_f1">(.*?)</td>', row, re.S)
        assert "n=" not in macro.group(2)
    # Each column with two solid figures has exactly one bold best.
    bold = re.findall(r'<td class="num best" data-metric="(\w+)"', html)
    assert "macro_f1" in bold and "restraint_f1" not in bold


def test_takeaway_opens_the_report_and_says_whether_the_cases_settle_it(report, html: str):
    text = takeaway(report, _entries(report))
    assert html.index('id="takeaway"') < html.index('id="headline"')
    assert text.replace("'", "&#39;") in html and text.count(".") >= 1
    best = max(report.runs, key=lambda r: r.scores.macro_f1)
    assert text.startswith(
        f"{best.run.name} has the highest behavior Macro-F1, {percent(best.scores.macro_f1)}%"
    )
    assert "points over" in text and ("excludes 0" in text or "do not settle" in text)
    assert render_markdown(report).splitlines()[2] == f"**{text}**"


def test_a_run_that_never_speaks_up_is_called_out(runs: dict[str, Path], tmp_path: Path):
    quiet = [
        s.model_copy(update={"predicted": Behavior.silent, "probabilities": None})
        if s.status == "ok" and s.predicted is Behavior.proactive
        else s
        for s in load_run(runs["sft"]).samples
    ]
    path = write_run(
        tmp_path / "quiet", quiet, "quiet-model", "test", Path(load_run(runs["sft"]).results.dataset_dir)
    )
    loaded = load_report([path], n_bootstrap=0)
    assert "never predicts proactive (F1 proactive 0.0)" in takeaway(loaded, _entries(loaded))


def test_runs_over_different_cases_get_a_warning(runs: dict[str, Path], tmp_path: Path):
    full = load_run(runs["zero"])
    kept = sorted({s.case_id for s in full.samples})[:-4]
    fewer = write_run(
        tmp_path / "fewer",
        [s for s in full.samples if s.case_id in kept],
        "zero-shot",
        "test",
        Path(full.results.dataset_dir),
    )
    loaded = load_report([runs["sft"], fewer], n_bootstrap=50)
    assert len(loaded.warnings) == 1
    assert f"fewer {len(kept)}" in loaded.warnings[0] and "different cases" in loaded.warnings[0]
    assert 'class="warning"' in render_html(loaded) and "> **Warning:**" in render_markdown(loaded)
    assert load_report([runs["sft"], runs["zero"]], n_bootstrap=0).warnings == []
    other_split = load_report([runs["sft"], runs["sft-dev"]], n_bootstrap=0).warnings
    assert any("different splits" in w for w in other_split)


def test_the_dial_row_is_the_run_redecided_at_the_chosen_bias(runs: dict[str, Path], tmp_path: Path):
    calibration = write_calibration(runs["sft"], runs["sft-dev"], tmp_path / "cal")
    loaded = load_report([runs["sft"], runs["zero"]], n_bootstrap=0, calibrations=[tmp_path / "cal"])
    run = load_run(runs["sft"])
    expected = score_samples(apply_bias(run.samples, calibration.chosen_bias), n_bootstrap=0)
    [dial] = loaded.dials
    assert dial.scores.macro_f1 == expected.macro_f1 == calibration.test_at_chosen.macro_f1
    html = render_html(loaded)
    name = f"sft, dial {calibration.chosen_bias:+g}"
    row = re.search(rf'<tr data-run="{re.escape(name)}">(.*?)</tr>', html, re.S).group(1)
    assert f'data-metric="macro_f1"><span class="value">{percent(expected.macro_f1)}<' in row
    assert re.search(r'data-metric="content_accuracy"><span class="value">—<', row)
    assert "chosen on sft-dev" in row
    with pytest.raises(BehaviorBenchError, match="test_run 'sft' is not among the report's runs"):
        load_report([runs["zero"]], calibrations=[tmp_path / "cal"])


def test_examples_never_hide_what_the_model_wrote(runs: dict[str, Path], tmp_path: Path):
    run = load_run(runs["zero"])
    tag_only = [
        s.model_copy(update={"response": "", "raw_output": "[PROACTIVE]"})
        if s.status == "ok" and s.predicted is Behavior.proactive
        else s
        for s in run.samples
    ]
    path = write_run(tmp_path / "terse", tag_only, "zero-shot", "test", Path(run.results.dataset_dir))
    loaded = load_report([runs["sft"], path], examples=40, n_bootstrap=0)
    answers = [
        a for e in loaded.examples for a in e.answers if a.run == "terse" and a.behavior == "proactive"
    ]
    assert answers and all(a.response == "[PROACTIVE]" for a in answers)
    assert all(a.note == "the model wrote nothing after its behavior mark" for a in answers)
    assert "no response recorded" not in render_html(loaded)


def test_figures_use_the_tables_unit(report):
    scores = [r.scores for r in report.runs]
    names = [r.run.name for r in report.runs]
    bars = plots.group_bars(names, scores).axes[0]
    assert bars.get_ylim()[1] > 100 and "%" in bars.get_ylabel()
    heights = sorted(round(p.get_height(), 6) for p in bars.patches[:4])
    first = scores[0]
    values = [first.macro_f1, first.reactive_f1, first.proactive_f1, first.restraint_f1]
    assert heights == sorted(round(100 * v, 6) for v in values)
    points = plots.operating_points(names, scores, [r.curve for r in report.runs]).axes[0]
    assert "%" in points.get_xlabel() and points.get_xlim()[1] > 100


def test_tokens_and_cost_of_api_runs_are_shown(runs: dict[str, Path], tmp_path: Path, run_main: Callable):
    run = load_run(runs["zero"])
    api = write_run(tmp_path / "api", run.samples, "openai:some-model", "test", Path(run.results.dataset_dir))
    results = read_results(api).model_copy(
        update={
            "usage": TokenUsage(requests=10, prompt_tokens=3_000_000, completion_tokens=1_000_000),
            "cost": Cost(usd=None, price=None, basis="unknown: no price for this model"),
        }
    )
    write_results(api, results)
    html = render_html(load_report([runs["sft"], api], n_bootstrap=0))
    cost = html[html.index('id="cost-table"') :]
    row = re.search(r'<tr data-run="api">(.*?)</tr>', cost, re.S).group(1)
    assert "3,000,000" in row and ">unknown<" in row
    code, err = run_main(
        "report",
        runs["sft"],
        api,
        "--out",
        tmp_path / "r.md",
        "--format",
        "md",
        "--bootstrap",
        "1",
        "--price",
        "openai:some-model=1/2",
    )
    assert code == 0, err
    assert (
        "| api | openai:some-model | 10 | 3,000,000 | 1,000,000 | $5.0000 | price given |"
        in (tmp_path / "r.md").read_text()
    )
    code, err = run_main("report", runs["sft"], "--out", tmp_path / "x.md", "--price", "cheap")
    assert code == 2 and err.startswith("error: --price 'cheap'")


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
    assert (tmp_path / "r-sft-samples.html").is_file() and (tmp_path / "r-zero-samples.html").is_file()
    assert 'href="r-sft-samples.html"' in (tmp_path / "r.html").read_text()


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
