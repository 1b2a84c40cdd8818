"""Open a real report in headless Chromium: every figure decodes and the headline shows the numbers."""

from __future__ import annotations

from pathlib import Path

from headless import headless_chromium, needs_chromium

from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.paired import paired_differences
from behaviorbench.reporting.report import load_report, percent, render_html
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
