"""Compare evaluation runs in one self-contained HTML page (or a markdown summary).

Everything the page needs is inside it: CSS inline and figures as base64 PNG data URIs, so it can
be mailed, archived with a paper or opened offline. Scores are recomputed from each run's samples
with the harness's scorer, so every run in a report is scored by the same code.

The page is built not to mislead: rates are in % everywhere (tables and figures), a group score
is called one and the per-class F1 stands beside it, a figure resting on fewer than FEW_SLOTS
slots shows its count and is never bolded, runs scored on different cases are flagged, and a
one-line takeaway says who leads and whether the cases settle it. Beside the HTML page, every run
gets a filterable page of all its designated samples (`browser.py`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import ValidationError

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.manifest import dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.metrics import LABELS, PREDICTION_LABELS, Interval, Scores, score_samples
from behaviorbench.evaluation.paired import PairedDifference, paired_differences
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import RESULTS_FILE
from behaviorbench.evaluation.summary import percent
from behaviorbench.evaluation.usage import Price, estimate_cost
from behaviorbench.reporting import plots
from behaviorbench.reporting.calibration import (
    CALIBRATION_NAME,
    Calibration,
    OperatingPoint,
    apply_bias,
    bias_grid,
    sweep,
)
from behaviorbench.reporting.examples import Example, build_examples, disagreement_keys
from behaviorbench.reporting.runs import Run, load_runs
from behaviorbench.taxonomy import CATEGORIES, Group

FEW_SLOTS = 30
"""A cell resting on fewer slots shows its count and is never bolded as a column's best."""

HEADLINE: tuple[tuple[str, str, bool], ...] = (
    ("macro_f1", "Macro-F1", True),
    ("class_reactive", "F1 reactive", True),
    ("class_proactive", "F1 proactive", True),
    ("class_silent", "F1 silent", True),
    ("proactive_f1", "Proactive group score", True),
    ("reactive_f1", "Reactive group score", True),
    ("restraint_f1", "Restraint group score", True),
    ("false_alarm_rate", "False alarms", False),
    ("proactive_auc", "Proactive AUC", True),
    ("content_accuracy", "Content acc.", True),
    ("joint_success", "Joint success", True),
)
"""(figure key, column label, higher is better): the headline columns, all in %.

`class_*` is the F1 of one behavior over all designated slots. A group score is the Macro-F1 over
the slots of one category group, controls included: a model that never speaks up still earns a
proactive group score by staying silent on the controls, so the class F1 stands beside it, and
the proactive AUC (problems ranked against their controls by the proactive probability) says
whether the model tells them apart at all, whatever its threshold."""
CONTENT_KEYS = ("content_accuracy", "joint_success")


def interval(ci: Interval | None) -> str:
    return "" if ci is None else f"{100 * ci.low:.1f}–{100 * ci.high:.1f}"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class Figure:
    """One headline figure: its value, how many slots it rests on, its 95% interval."""

    value: float | None
    slots: int
    ci: Interval | None = None


def headline_figures(scores: Scores, samples: list[Sample]) -> dict[str, Figure]:
    """Every headline figure of a run, each with the number of slots behind it."""
    scored = [s for s in samples if s.status != "not_applicable"]
    designated = [s for s in scored if s.designated]
    figures = {
        "macro_f1": Figure(scores.macro_f1, len(designated), scores.ci.get("macro_f1")),
        "false_alarm_rate": Figure(
            scores.false_alarm_rate, len(scored) - len(designated), scores.ci.get("false_alarm_rate")
        ),
        "content_accuracy": Figure(
            scores.content_accuracy,
            sum(s.correct and s.content_pass is not None for s in designated),
            scores.ci.get("content_accuracy"),
        ),
        "joint_success": Figure(scores.joint_success, scores.counts.content_checked),
        "proactive_auc": Figure(
            scores.proactive_auc,
            sum(s.group is Group.proactive and bool(s.probabilities) for s in designated),
        ),
    }
    for behavior in LABELS:
        cls = scores.per_class.get(behavior)
        figures[f"class_{behavior}"] = Figure(cls.f1 if cls else None, cls.support if cls else 0)
    for group in Group:
        subset = scores.groups[group.value]
        figures[f"{group.value}_f1"] = Figure(
            subset.macro_f1, subset.samples, scores.ci.get(f"{group.value}_f1")
        )
    return figures


@dataclass(frozen=True)
class ScoredRun:
    run: Run
    scores: Scores
    curve: list[OperatingPoint] | None
    """The bias sweep when the run has probabilities."""
    color: str


@dataclass(frozen=True)
class DialRow:
    """A run re-decided at the proactivity dial chosen on dev by `behaviorbench calibrate`.

    Only decisions move with the bias; responses were written for the original decisions, so the
    row has no content figures."""

    run: ScoredRun
    bias: float
    dev_run: str
    samples: list[Sample]
    scores: Scores

    @property
    def name(self) -> str:
        return f"{self.run.run.name}, dial {self.bias:+g}"


@dataclass(frozen=True)
class Report:
    runs: list[ScoredRun]
    data_dir: Path
    generator_version: str
    fingerprint: str
    examples: list[Example]
    differences: list[PairedDifference]
    """Every later run minus every earlier one, so list baselines first."""
    dials: list[DialRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Why the runs' scores may not be comparable (different cases, splits or skipped slots)."""
    prices: dict[str, Price] = field(default_factory=dict)
    """Prices given for the report (model spec -> price), over the run's own estimate."""


def load_report(
    paths: list[Path],
    data: Path | None = None,
    examples: int = 8,
    n_bootstrap: int = 1000,
    seed: int = 0,
    calibrations: list[Path] = (),
    prices: dict[str, Price] | None = None,
) -> Report:
    """Load runs of one dataset, score them, add the dial rows of `calibrations`, find examples."""
    runs = load_runs(paths)
    data_dir = resolve_data_dir(runs[0], data)
    keys = disagreement_keys(runs, examples)
    splits = sorted({s.split for run in runs for s in run.samples})
    cases = (case for split in splits for case in iter_cases(data_dir, split)) if keys else iter(())
    scored = [
        ScoredRun(
            run=run,
            scores=score_samples(run.samples, n_bootstrap=n_bootstrap, seed=seed),
            curve=sweep(run.samples, bias_grid(), run.proactive_bias) if run.has_probabilities else None,
            color=plots.run_color(i),
        )
        for i, run in enumerate(runs)
    ]
    return Report(
        runs=scored,
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
        dials=[load_dial(path, scored, n_bootstrap, seed) for path in calibrations],
        warnings=coverage_warnings(runs),
        prices=prices or {},
    )


def load_dial(path: Path, runs: list[ScoredRun], n_bootstrap: int, seed: int) -> DialRow:
    """The dial row of a `calibrate` output folder (or its calibration.json) for one of `runs`."""
    path = Path(path)
    file = path / CALIBRATION_NAME if path.is_dir() else path
    try:
        calibration = Calibration.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise BehaviorBenchError(f"{file}: cannot read ({error.strerror})") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise BehaviorBenchError(f"{file}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    by_name = {r.run.name: r for r in runs}
    if calibration.test_run not in by_name:
        raise BehaviorBenchError(
            f"{file}: test_run {calibration.test_run!r} is not among the report's runs "
            f"({', '.join(by_name)}); add its run directory"
        )
    run = by_name[calibration.test_run]
    if calibration.test_dataset_fingerprint != run.run.fingerprint:
        raise BehaviorBenchError(
            f"{file}: test_dataset_fingerprint {calibration.test_dataset_fingerprint} differs from "
            f"{run.run.fingerprint} of {run.run.path}"
        )
    samples = apply_bias(run.run.samples, calibration.chosen_bias, run.run.proactive_bias)
    return DialRow(
        run=run,
        bias=calibration.chosen_bias,
        dev_run=calibration.dev_run,
        samples=samples,
        scores=score_samples(samples, n_bootstrap=n_bootstrap, seed=seed),
    )


def coverage_warnings(runs: list[Run]) -> list[str]:
    """Sentences saying where the runs were scored on different tasks (none when they match)."""
    if len(runs) < 2:
        return []
    warnings = []
    splits = {run.name: "/".join(sorted({s.split for s in run.samples})) for run in runs}
    if len(set(splits.values())) > 1:
        listed = ", ".join(f"{name} {split}" for name, split in splits.items())
        warnings.append(f"The runs evaluated different splits ({listed}): their scores are not comparable.")
    cases = {run.name: {s.case_id for s in run.samples} for run in runs}
    if len({frozenset(c) for c in cases.values()}) > 1:
        shared = set.intersection(*cases.values())
        listed = ", ".join(f"{name} {len(c)}" for name, c in cases.items())
        warnings.append(
            f"The runs cover different cases ({listed}; {len(shared)} shared): each score is over its "
            "own cases, so a difference between them mixes the models with the tasks. Paired "
            "differences use the shared cases only."
        )
    skipped = {run.name: sum(s.status == "not_applicable" for s in run.samples) for run in runs}
    if len(set(skipped.values())) > 1:
        listed = ", ".join(f"{name} {n}" for name, n in skipped.items())
        warnings.append(
            f"The runs left out different slots as not applicable, images for text-only models "
            f"({listed}): their scores are over different slots."
        )
    return warnings


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


def _entries(report: Report) -> list[dict]:
    """Every row of the headline, group and category tables: each run, then each dial row."""
    entries = [
        {
            "name": r.run.name,
            "model": r.run.model,
            "color": r.color,
            "note": "",
            "dial": False,
            "scores": r.scores,
            "figures": headline_figures(r.scores, r.run.samples),
        }
        for r in report.runs
    ]
    for dial in report.dials:
        figures = headline_figures(dial.scores, dial.samples)
        for key in CONTENT_KEYS:  # the responses belong to the original decisions
            figures[key] = Figure(None, 0)
        entries.append(
            {
                "name": dial.name,
                "model": dial.run.run.model,
                "color": dial.run.color,
                "note": f"proactivity dial {dial.bias:+g}, chosen on {dial.dev_run}; no content figures",
                "dial": True,
                "scores": dial.scores,
                "figures": figures,
            }
        )
    return entries


def _few(slots: int) -> str:
    """The slot count shown under a figure that rests on few slots."""
    return f"n={slots}" if slots < FEW_SLOTS else ""


def _headline(entries: list[dict]) -> list[dict]:
    """One row per entry: each cell's value, interval, slot count if few, and whether it is the best.

    Only cells resting on at least FEW_SLOTS slots compete for bold, and only when two do."""
    rows = [
        {"name": e["name"], "model": e["model"], "color": e["color"], "note": e["note"], "cells": []}
        for e in entries
    ]
    for key, _, higher in HEADLINE:
        figures = [e["figures"][key] for e in entries]
        solid = [f.value for f in figures if f.value is not None and f.slots >= FEW_SLOTS]
        best = (max if higher else min)(solid) if len(solid) > 1 else None
        for row, figure in zip(rows, figures, strict=True):
            row["cells"].append(
                {
                    "key": key,
                    "value": percent(figure.value),
                    "ci": interval(figure.ci),
                    "few": _few(figure.slots) if figure.value is not None else "",
                    "best": best is not None and figure.value == best and figure.slots >= FEW_SLOTS,
                }
            )
    for row, e in zip(rows, entries, strict=True):
        counts = e["scores"].counts
        row["cells"].append(
            {
                "key": "invalid",
                "value": str(counts.invalid + counts.errored),
                "ci": "",
                "few": "",
                "best": False,
            }
        )
    return rows


def _groups(entries: list[dict]) -> list[dict]:
    return [
        {
            "name": e["name"],
            "groups": [
                {
                    "group": g.value,
                    "macro_f1": percent(e["scores"].groups[g.value].macro_f1),
                    "ci": interval(e["scores"].ci.get(f"{g.value}_f1")),
                    "accuracy": percent(e["scores"].groups[g.value].accuracy),
                    "samples": e["scores"].groups[g.value].samples,
                    "few": e["scores"].groups[g.value].samples < FEW_SLOTS,
                }
                for g in Group
            ],
        }
        for e in entries
    ]


def _categories(entries: list[dict]) -> list[dict]:
    present = [c.value for c in CATEGORIES if any(c.value in e["scores"].categories for e in entries)]
    rows = []
    for category in present:
        cells = []
        for e in entries:
            subset = e["scores"].categories.get(category)
            value = subset.macro_f1 if subset else None
            cells.append({"value": percent(value), "few": _few(subset.samples) if subset else ""})
        rows.append(
            {
                "category": category,
                "cells": cells,
                "not_applicable": sum(
                    e["scores"].not_applicable_by_category.get(category, 0) for e in entries if not e["dial"]
                ),
            }
        )
    return rows


def takeaway(report: Report, entries: list[dict]) -> str:
    """One sentence: who leads on Macro-F1, by how much and whether the cases settle it, and
    whether the leader ever speaks up (its proactive group score can hide that it never does)."""
    ranked = sorted(
        (e for e in entries if e["scores"].macro_f1 is not None),
        key=lambda e: -e["scores"].macro_f1,
    )
    if not ranked:
        return "No designated slot was scored."
    best = ranked[0]
    designated = best["figures"]["macro_f1"].slots
    macro = f"{percent(best['scores'].macro_f1)}% over {designated} designated slots"
    if len(ranked) == 1:
        text = f"{best['name']}: behavior Macro-F1 {macro}"
    else:
        text = f"{best['name']} has the highest behavior Macro-F1, {macro}"
        second = ranked[1]
        difference = _difference(report, best["name"], second["name"])
        if difference is None:
            gap = 100 * (best["scores"].macro_f1 - second["scores"].macro_f1)
            text += f", {gap:.1f} points above {second['name']}"
        else:
            settled = (
                "an interval that excludes 0"
                if difference.low > 0 or difference.high < 0
                else f"which these {difference.cases} cases do not settle"
            )
            text += (
                f", {100 * difference.difference:+.1f} points over {second['name']} "
                f"[{100 * difference.low:+.1f} to {100 * difference.high:+.1f}], {settled}"
            )
    proactive_column = PREDICTION_LABELS.index("proactive")
    predicted_proactive = sum(row[proactive_column] for row in best["scores"].confusion.counts)
    if predicted_proactive == 0:
        text += (
            f"; it never predicts proactive (F1 proactive 0.0), so its proactive group score of "
            f"{percent(best['scores'].proactive_f1)}% comes from staying silent on the controls"
        )
    return text + "."


def _difference(report: Report, a: str, b: str) -> PairedDifference | None:
    """a − b on Macro-F1 from the report's paired differences (either order), if computed."""
    for d in report.differences:
        if d.metric != "macro_f1":
            continue
        if (d.a, d.b) == (a, b):
            return d
        if (d.a, d.b) == (b, a):
            return d.model_copy(
                update={"a": a, "b": b, "difference": -d.difference, "low": -d.high, "high": -d.low}
            )
    return None


def _usage(report: Report) -> list[dict]:
    """Tokens and estimated cost of each run that called an API model."""
    rows = []
    for r in report.runs:
        results = r.run.results
        if results.usage is None:
            continue
        given = report.prices.get(r.run.model)
        cost = estimate_cost(results.usage, given, "price given") if given else results.cost
        rows.append(
            {
                "name": r.run.name,
                "model": r.run.model,
                "requests": f"{results.usage.requests:,}",
                "prompt_tokens": f"{results.usage.prompt_tokens:,}",
                "completion_tokens": f"{results.usage.completion_tokens:,}",
                "cost": "unknown" if cost is None or cost.usd is None else f"${cost.usd:,.4f}",
                "basis": cost.basis if cost else "not recorded",
            }
        )
    return rows


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


def template_environment(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("behaviorbench.reporting", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(report: Report) -> dict:
    entries = _entries(report)
    return {
        "report": report,
        "takeaway": takeaway(report, entries),
        "warnings": report.warnings,
        "headline_columns": [label for _, label, _ in HEADLINE] + ["Invalid"],
        "headline": _headline(entries),
        "few_slots": FEW_SLOTS,
        "groups": _groups(entries),
        "categories": _categories(entries),
        "entry_names": [e["name"] for e in entries],
        "differences": _differences(report),
        "run_names": [r.run.name for r in report.runs],
        "provenance": _provenance(report),
        "usage": _usage(report),
        "group_names": [g.value for g in Group],
        "browsers": [],
    }


def render_html(report: Report, browsers: list[tuple[str, str]] = ()) -> str:
    """The report page; `browsers` are (run name, relative link) of its sample browser pages."""
    context = _context(report) | {"figures": _figures(report), "browsers": list(browsers)}
    return template_environment(autoescape=True).get_template("report.html.j2").render(context)


def render_markdown(report: Report) -> str:
    return template_environment(autoescape=False).get_template("report.md.j2").render(_context(report))


def browser_path(out: Path, run_name: str) -> Path:
    """Where the sample browser of a run goes: beside the report, named after both."""
    return Path(out).with_name(f"{Path(out).stem}-{run_name}-samples.html")


def write_report(report: Report, out: Path, fmt: str) -> list[Path]:
    """Write the report; as HTML, also one sample browser per run beside it. Returns the files."""
    if fmt not in ("html", "md"):
        raise BehaviorBenchError(f"--format: unknown value {fmt!r}; expected 'html' or 'md'")
    out = Path(out)
    if fmt == "md":
        atomic_write_text(out, render_markdown(report))
        return [out]
    from behaviorbench.reporting.browser import render_browser

    splits = sorted({s.split for r in report.runs for s in r.run.samples})
    cases = {case.case_id: case for split in splits for case in iter_cases(report.data_dir, split)}
    pages = [(r, browser_path(out, r.run.name)) for r in report.runs]
    for r, page in pages:
        atomic_write_text(page, render_browser(r.run, cases, report.fingerprint))
    atomic_write_text(out, render_html(report, [(r.run.name, page.name) for r, page in pages]))
    return [out, *(page for _, page in pages)]
