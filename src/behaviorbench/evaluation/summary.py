"""The end-of-run summary: headline metrics with their intervals, per category, and the counts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from behaviorbench.evaluation.metrics import Scores

HEADLINE = (
    ("macro_f1", "Behavior Macro-F1"),
    ("proactive_f1", "Proactive group score"),
    ("class_proactive", "F1 proactive"),
    ("proactive_auc", "Proactive AUC (problem vs control)"),
    ("reactive_f1", "Reactive group score"),
    ("restraint_f1", "Restraint group score"),
    ("false_alarm_rate", "False-alarm rate"),
    ("content_accuracy", "Content accuracy"),
    ("joint_success", "Joint success"),
)
"""A group score is the Macro-F1 over one group's slots, controls included; `class_proactive` (the
F1 of the proactive class) stands beside it, as in the report, since a model that never speaks up
still earns a proactive group score on the controls."""


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def headline_value(scores: Scores, key: str) -> float | None:
    """A headline figure: a `Scores` field, or `class_<behavior>` for one class's F1."""
    if key.startswith("class_"):
        found = scores.per_class.get(key.removeprefix("class_"))
        return found.f1 if found else None
    return getattr(scores, key)


def scores_table(scores: Scores, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("%", justify="right")
    table.add_column("95% CI", justify="right")
    for key, label in HEADLINE:
        interval = scores.ci.get(key)
        ci = f"{percent(interval.low)}–{percent(interval.high)}" if interval else ""
        table.add_row(label, percent(headline_value(scores, key)), ci)
    return table


def categories_table(scores: Scores) -> Table:
    table = Table(title="Per category", title_justify="left")
    for column in ("category", "slots", "Macro-F1", "accuracy", "n/a"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for category, subset in scores.categories.items():
        table.add_row(
            category,
            str(subset.samples),
            percent(subset.macro_f1),
            percent(subset.accuracy),
            str(subset.not_applicable),
        )
    return table


def counts_line(scores: Scores) -> str:
    c = scores.counts
    return (
        f"{c.cases} cases, {c.designated} designated + {c.ambient} ambient slots: "
        f"{c.ok} ok, {c.invalid} invalid, {c.errored} errored, {c.not_applicable} not applicable"
    )


def print_summary(console: Console, scores: Scores, title: str) -> None:
    console.print(scores_table(scores, title))
    console.print(categories_table(scores))
    console.print(counts_line(scores), highlight=False)
    if scores.counts.errored:
        console.print(
            f"{scores.counts.errored} samples errored (the backend failed after its retries): "
            "rerun into the same --out to retry them",
            style="bold red",
            highlight=False,
        )
