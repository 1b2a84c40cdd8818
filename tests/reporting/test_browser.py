"""Open real reports in headless Chromium: every figure decodes, the headline shows the numbers, and
the sample browser filters by category, gold and predicted behavior."""

from __future__ import annotations

from pathlib import Path

from headless import headless_chromium, needs_chromium

from behaviorbench.dataset.reader import load_cases
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.paired import paired_differences
from behaviorbench.reporting.examples import predicted_label
from behaviorbench.reporting.report import load_report, percent, render_html, write_report
from behaviorbench.reporting.runs import load_run

pytestmark = needs_chromium


def test_report_renders_in_chromium(runs: dict[str, Path], tmp_path: Path):
    names = ["sft", "zero"]
    out = tmp_path / "report.html"
    out.write_text(render_html(load_report([runs[n] for n in names], n_bootstrap=100)), encoding="utf-8")

    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(out.as_uri(), wait_until="load")
        sizes = page.eval_on_selector_all(
            "img", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        headline = {
            name: page.eval_on_selector_all(
                f'#headline-table tr[data-run="{name}"] td[data-metric] .value',
                "cells => Object.fromEntries("
                "cells.map(c => [c.parentElement.dataset.metric, c.textContent]))",
            )
            for name in names
        }
        paired = page.inner_text('#paired-table tr[data-pair="zero|sft"] td[data-metric="macro_f1"] .value')

    assert len(sizes) == 5
    assert all(complete and width > 0 and height > 0 for complete, width, height in sizes)
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    for name in names:
        scores = score_samples(load_run(runs[name]).samples, n_bootstrap=0)
        shown = headline[name]
        assert shown["macro_f1"] == percent(scores.macro_f1)
        assert shown["proactive_f1"] == percent(scores.proactive_f1)
        assert shown["false_alarm_rate"] == percent(scores.false_alarm_rate)
        assert shown["joint_success"] == percent(scores.joint_success)
        assert shown["invalid"] == str(scores.counts.invalid + scores.counts.errored)
    difference = paired_differences(
        load_run(runs["zero"]).samples, load_run(runs["sft"]).samples, "zero", "sft", n_bootstrap=100
    )[0]
    assert difference.metric == "macro_f1" and paired == f"{100 * difference.difference:+.1f}"


def test_sample_browser_filters_in_chromium(runs: dict[str, Path], tmp_path: Path):
    report = load_report([runs["sft"], runs["zero"]], n_bootstrap=0)
    written = write_report(report, tmp_path / "report.html", "html")
    assert written[1:] == [tmp_path / "report-sft-samples.html", tmp_path / "report-zero-samples.html"]
    samples = [s for s in load_run(runs["zero"]).samples if s.designated]

    def expected(category="", gold="", predicted="", wrong=False) -> int:
        return sum(
            (not category or s.category.value == category)
            and (not gold or s.gold_behavior.value == gold)
            and (not predicted or predicted_label(s) == predicted)
            and (not wrong or not s.correct)
            for s in samples
        )

    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((tmp_path / "report.html").as_uri(), wait_until="load")
        page.click('#samples a:text("zero")')  # the report links to each run's browser
        page.wait_for_load_state("load")
        assert page.url.endswith("report-zero-samples.html")

        def shown() -> tuple[int, list[dict]]:
            rows = page.eval_on_selector_all(
                "#samples tr.sample:not([hidden])", "rows => rows.map(r => ({...r.dataset}))"
            )
            assert int(page.inner_text("#count")) == len(rows)
            return len(rows), rows

        assert shown()[0] == len(samples) == expected()
        page.select_option("#category", "error_correction")
        count, rows = shown()
        assert count == expected("error_correction") > 0
        assert {r["category"] for r in rows} == {"error_correction"}
        page.select_option("#gold", "proactive")
        assert shown()[0] == expected("error_correction", "proactive") > 0
        page.select_option("#category", "")
        page.select_option("#predicted", "silent")
        count, rows = shown()
        assert count == expected(gold="proactive", predicted="silent") > 0
        assert all(r["gold"] == "proactive" and r["predicted"] == "silent" for r in rows)
        page.select_option("#gold", "")
        page.select_option("#predicted", "invalid")  # the simulated run has unparseable replies
        assert shown()[0] == expected(predicted="invalid") > 0
        page.select_option("#predicted", "")
        page.check("#wrong")
        count, rows = shown()
        assert count == expected(wrong=True) > 0 and all(r["correct"] == "no" for r in rows)

        first = page.locator("#samples tr.sample:not([hidden])").first
        first.locator("details summary").click()
        context = first.locator("details .utterance").all_inner_texts()
        assert context and first.locator("details .utterance").last.is_visible()
        case_id, slot = first.locator("td").first.inner_text().replace("\n", " ").split(" slot ")
        sample = next(s for s in samples if s.case_id == case_id.strip() and s.slot == int(slot))
        assert context[-1].endswith(
            next(c for c in load_cases(report.data_dir) if c.case_id == sample.case_id)
            .utterances[sample.slot]
            .text
        )
