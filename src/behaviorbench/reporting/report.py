"""Compare evaluation runs in one self-contained HTML page (or a markdown summary).

Everything the page needs is inside it: CSS inline and figures as base64 PNG data URIs, so it can
be mailed, archived with a paper or opened offline. Scores are recomputed from each run's samples
with the harness's scorer, so every run in a report is scored by the same code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.manifest import dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.metrics import Interval, Scores, score_samples
from behaviorbench.evaluation.paired import PairedDifference, paired_differences
from behaviorbench.evaluation.results import RESULTS_FILE
from behaviorbench.evaluation.summary import percent
from behaviorbench.reporting import plots
from behaviorbench.reporting.calibration import OperatingPoint, bias_grid, sweep
from behaviorbench.reporting.examples import Example, build_examples, disagreement_keys
from behaviorbench.reporting.runs import Run, load_runs
from behaviorbench.taxonomy import CATEGORIES, Group

HEADLINE: tuple[tuple[str, str, bool], ...] = (
    ("macro_f1", "Macro-F1", True),
    ("proactive_f1", "Proactive F1", True),
    ("reactive_f1", "Reactive F1", True),
    ("restraint_f1", "Restraint F1", True),
    ("false_alarm_rate", "False alarms", False),
    ("content_accuracy", "Content acc.", True),
    ("joint_success", "Joint success", True),
)
"""(Scores field, column label, higher is better): the headline table's rate columns."""


def interval(ci: Interval | None) -> str:
    return "" if ci is None else f"{100 * ci.low:.1f}–{100 * ci.high:.1f}"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class ScoredRun:
    run: Run
    scores: Scores
    curve: list[OperatingPoint] | None
    """The bias sweep when the run has probabilities."""
    color: str


@dataclass(frozen=True)
class Report:
    runs: list[ScoredRun]
    data_dir: Path
    generator_version: str
    fingerprint: str
    examples: list[Example]
    differences: list[PairedDifference]
    """Every later run minus every earlier one, so list baselines first."""


def load_report(
    paths: list[Path], data: Path | None = None, examples: int = 8, n_bootstrap: int = 1000, seed: int = 0
) -> Report:
    """Load runs of one dataset, score them, and find examples where they disagree."""
    runs = load_runs(paths)
    data_dir = resolve_data_dir(runs[0], data)
    keys = disagreement_keys(runs, examples)
    splits = sorted({s.split for run in runs for s in run.samples})
    cases = (case for split in splits for case in iter_cases(data_dir, split)) if keys else iter(())
    return Report(
        runs=[
            ScoredRun(
                run=run,
                scores=score_samples(run.samples, n_bootstrap=n_bootstrap, seed=seed),
                curve=sweep(run.samples, bias_grid(), run.proactive_bias) if run.has_probabilities else None,
                color=plots.run_color(i),
            )
            for i, run in enumerate(runs)
        ],
        data_dir=data_dir,
        generator_version=load_manifest(data_dir).generator_version,
        fingerprint=runs[0].fingerprint,
        examples=build_examples(runs, cases, keys),
        differences=[
            difference
            for j, later in enumerate(runs)
            for earlier in runs[:j]
            for difference in paired_differences(
                later.samples, earlier.samples, later.name, earlier.name, n_bootstrap, seed
            )
        ],
    )


def resolve_data_dir(run: Run, data: Path | None) -> Path:
    """The dataset the runs scored: `--data`, else the run's dataset_dir; its fingerprint must match."""
    if data is None:
        recorded = run.results.dataset_dir
        if not recorded:
            raise BehaviorBenchError(f"{run.path / RESULTS_FILE}: dataset_dir: not recorded; pass --data DIR")
        data = Path(recorded)
        if not data.is_dir():
            raise BehaviorBenchError(
                f"{run.path / RESULTS_FILE}: dataset_dir {recorded!r} not found; pass --data DIR with it"
            )
    found = dataset_fingerprint(Path(data))
    if found != run.fingerprint:
        raise BehaviorBenchError(
            f"{Path(data) / 'manifest.json'}: dataset fingerprint {found} differs from the runs' "
            f"{run.fingerprint}; pass --data with the dataset the runs scored"
        )
    return Path(data)


def _headline(report: Report) -> list[dict]:
    """One row per run: cells with the shown value, its interval and whether it is the column's best."""
    rows = [{"name": r.run.name, "model": r.run.model, "color": r.color, "cells": []} for r in report.runs]
    for key, _, higher in HEADLINE:
        values = [getattr(r.scores, key) for r in report.runs]
        present = [v for v in values if v is not None]
        best = (max if higher else min)(present) if len(present) > 1 else None
        for row, r, value in zip(rows, report.runs, values, strict=True):
            row["cells"].append(
                {
                    "key": key,
                    "value": percent(value),
                    "ci": interval(r.scores.ci.get(key)),
                    "best": value is not None and value == best,
                }
            )
    for row, r in zip(rows, report.runs, strict=True):
        invalid = r.scores.counts.invalid + r.scores.counts.errored
        row["cells"].append({"key": "invalid", "value": str(invalid), "ci": "", "best": False})
    return rows


def _groups(report: Report) -> list[dict]:
    return [
        {
            "name": r.run.name,
            "groups": [
                {
                    "group": g.value,
                    "macro_f1": percent(r.scores.groups[g.value].macro_f1),
                    "ci": interval(r.scores.ci.get(f"{g.value}_f1")),
                    "accuracy": percent(r.scores.groups[g.value].accuracy),
                    "samples": r.scores.groups[g.value].samples,
                }
                for g in Group
            ],
        }
        for r in report.runs
    ]


def _categories(report: Report) -> list[dict]:
    present = [c.value for c in CATEGORIES if any(c.value in r.scores.categories for r in report.runs)]
    return [
        {
            "category": category,
            "cells": [
                percent(r.scores.categories[category].macro_f1 if category in r.scores.categories else None)
                for r in report.runs
            ],
            "not_applicable": sum(r.scores.not_applicable_by_category.get(category, 0) for r in report.runs),
        }
        for category in present
    ]


def _differences(report: Report) -> list[dict]:
    """One row per pair of runs: each metric's difference in points, its interval and P(better)."""
    rows: dict[tuple[str, str], dict] = {}
    for d in report.differences:
        row = rows.setdefault((d.a, d.b), {"a": d.a, "b": d.b, "cases": d.cases, "metrics": {}})
        row["metrics"][d.metric] = {
            "value": f"{100 * d.difference:+.1f}",
            "ci": f"{100 * d.low:+.1f} to {100 * d.high:+.1f}",
            "better": f"{100 * d.a_better:.0f}",
            "excludes_zero": d.low > 0 or d.high < 0,
        }
    return list(rows.values())


def _provenance(report: Report) -> list[dict]:
    """Each run's identity, dataset and software as recorded in its results.json (metrics aside)."""
    rows = []
    for r in report.runs:
        results = r.run.results.model_dump(mode="json", exclude={"metrics"})
        fields = {**results.pop("run"), **results}
        rows.append(
            {
                "name": r.run.name,
                "fields": [
                    (key, value if isinstance(value, str) else json.dumps(value))
                    for key, value in fields.items()
                ],
                "counts": r.scores.counts.model_dump(),
                "has_probabilities": r.curve is not None,
            }
        )
    return rows


def _figures(report: Report) -> dict:
    names = [r.run.name for r in report.runs]
    scores = [r.scores for r in report.runs]
    return {
        "groups": data_uri(plots.png_bytes(plots.group_bars(names, scores))),
        "categories": data_uri(plots.png_bytes(plots.category_bars(names, scores))),
        "operating_points": data_uri(
            plots.png_bytes(plots.operating_points(names, scores, [r.curve for r in report.runs]))
        ),
        "confusion": [
            (r.run.name, data_uri(plots.png_bytes(plots.confusion_matrix(r.run.name, r.scores))))
            for r in report.runs
        ],
    }


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("behaviorbench.reporting", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(report: Report) -> dict:
    return {
        "report": report,
        "headline_columns": [label for _, label, _ in HEADLINE] + ["Invalid"],
        "headline": _headline(report),
        "groups": _groups(report),
        "categories": _categories(report),
        "differences": _differences(report),
        "run_names": [r.run.name for r in report.runs],
        "provenance": _provenance(report),
        "group_names": [g.value for g in Group],
    }


def render_html(report: Report) -> str:
    context = _context(report) | {"figures": _figures(report)}
    return _environment(autoescape=True).get_template("report.html.j2").render(context)


def render_markdown(report: Report) -> str:
    return _environment(autoescape=False).get_template("report.md.j2").render(_context(report))


def write_report(report: Report, out: Path, fmt: str) -> None:
    if fmt not in ("html", "md"):
        raise BehaviorBenchError(f"--format: unknown value {fmt!r}; expected 'html' or 'md'")
    atomic_write_text(Path(out), render_html(report) if fmt == "html" else render_markdown(report))
