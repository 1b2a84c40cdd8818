"""The report's figures, one function each, drawn on plain `Figure` objects (no pyplot state).

Every function returns a Figure; `png_bytes` renders it. Colors follow one run per color across
all figures of a report, from a palette that stays distinguishable for color-blind readers. Rates
are drawn in %, the unit of every table, so a figure and its table read the same.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from behaviorbench.evaluation.metrics import Scores
from behaviorbench.taxonomy import CATEGORIES, Group

if TYPE_CHECKING:
    from behaviorbench.reporting.calibration import OperatingPoint

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
"""Okabe–Ito colors; run i gets PALETTE[i % 8]."""
DPI = 110


def run_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG; no timestamp or software tag, so the same figure gives the same bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _axes(width: float, height: float):
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_axisbelow(True)
    return figure, axes


def _value(x: float | None) -> float:
    """A rate in % (NaN where there is no data)."""
    return np.nan if x is None else 100 * x


def group_bars(names: Sequence[str], scores: Sequence[Scores]) -> Figure:
    """Macro-F1 overall and each group score, one bar per run, with 95% bootstrap intervals."""
    keys = [("macro_f1", "Macro-F1 (all)"), *((f"{g.value}_f1", f"{g.value} group score") for g in Group)]
    figure, axes = _axes(7.5, 3.6)
    width = 0.8 / len(names)
    x = np.arange(len(keys))
    for i, (name, score) in enumerate(zip(names, scores, strict=True)):
        values = np.array([_value(getattr(score, key)) for key, _ in keys])
        low = np.array(
            [values[k] - 100 * score.ci[key].low if key in score.ci else 0 for k, (key, _) in enumerate(keys)]
        )
        high = np.array(
            [
                100 * score.ci[key].high - values[k] if key in score.ci else 0
                for k, (key, _) in enumerate(keys)
            ]
        )
        axes.bar(
            x + (i - (len(names) - 1) / 2) * width,
            values,
            width,
            yerr=np.nan_to_num(np.vstack([low, high])),
            capsize=3,
            label=name,
            color=run_color(i),
            error_kw={"elinewidth": 1, "ecolor": "#444444"},
        )
    axes.set_xticks(x, [label for _, label in keys])
    axes.set_ylim(0, 105)
    axes.set_ylabel("Macro-F1 (%)")
    axes.yaxis.grid(True, color="#e5e5e5")
    figure.legend(frameon=False, fontsize=8, loc="outside lower center", ncols=min(len(names), 4))
    axes.set_title("Behavior Macro-F1 overall and group scores (%)", loc="left", fontsize=11)
    return figure


def category_bars(names: Sequence[str], scores: Sequence[Scores]) -> Figure:
    """Macro-F1 per category (over the gold behaviors present in it), one bar per run."""
    categories = [c.value for c in CATEGORIES if any(c.value in s.categories for s in scores)]
    figure, axes = _axes(7.5, 0.32 * len(categories) * max(1, len(names)) ** 0.5 + 1.2)
    height = 0.8 / len(names)
    y = np.arange(len(categories))
    for i, (name, score) in enumerate(zip(names, scores, strict=True)):
        values = [
            _value(score.categories[c].macro_f1) if c in score.categories else np.nan for c in categories
        ]
        axes.barh(y + (i - (len(names) - 1) / 2) * height, values, height, label=name, color=run_color(i))
    axes.set_yticks(y, [c.replace("_", " ") for c in categories])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("Macro-F1 (%)")
    axes.xaxis.grid(True, color="#e5e5e5")
    figure.legend(frameon=False, fontsize=8, loc="outside lower center", ncols=min(len(names), 4))
    axes.set_title("Behavior Macro-F1 by category (%)", loc="left", fontsize=11)
    return figure


def confusion_matrix(name: str, scores: Scores) -> Figure:
    """Gold behavior (rows) by predicted behavior (columns, `invalid` last); shade = row share."""
    counts = np.array(scores.confusion.counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    figure = Figure(figsize=(4.2, 3.4), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if shares[row, column] > 0.6 else "#222222"
        axes.text(column, row, f"{int(count)}", ha="center", va="center", color=color, fontsize=10)
    axes.set_xticks(range(len(scores.confusion.columns)), scores.confusion.columns)
    axes.set_yticks(range(len(scores.confusion.rows)), scores.confusion.rows)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(name, loc="left", fontsize=10)
    return figure


def operating_points(
    names: Sequence[str], scores: Sequence[Scores], curves: Sequence[Sequence[OperatingPoint] | None]
) -> Figure:
    """Proactive recall vs false-alarm rate: each run's point, and its bias sweep where it has one."""
    figure, axes = _axes(5.6, 4.2)
    for i, (name, score, curve) in enumerate(zip(names, scores, curves, strict=True)):
        color = run_color(i)
        if curve:
            xs = [_value(p.false_alarm_rate) for p in curve]
            ys = [_value(p.proactive_recall) for p in curve]
            axes.plot(xs, ys, color=color, alpha=0.55, linewidth=1.4)
        proactive = score.per_class.get("proactive")
        axes.scatter(
            [_value(score.false_alarm_rate)],
            [_value(proactive.recall if proactive else None)],
            color=color,
            edgecolor="white",
            s=70,
            zorder=3,
            label=name,
        )
    axes.set_xlim(-2, 102)
    axes.set_ylim(-2, 102)
    axes.set_xlabel("false-alarm rate, % (ambient slots not silent)")
    axes.set_ylabel("proactive recall (%)")
    axes.grid(True, color="#e5e5e5")
    axes.legend(frameon=False, fontsize=8, loc="lower right")
    axes.set_title("Speaking up vs. false alarms (lines: proactive bias sweep)", loc="left", fontsize=10)
    return figure


def proactivity_curve(
    dev: Sequence[OperatingPoint], test: Sequence[OperatingPoint], chosen_bias: float
) -> Figure:
    """The dial's trade-off on dev and test, with the chosen operating point marked."""
    figure, axes = _axes(5.6, 4.2)
    for label, curve, color in (("dev", dev, run_color(0)), ("test", test, run_color(1))):
        axes.plot(
            [_value(p.false_alarm_rate) for p in curve],
            [_value(p.proactive_recall) for p in curve],
            marker="o",
            markersize=3,
            color=color,
            label=label,
        )
        for point in curve:
            if point.bias in (0.0, chosen_bias):
                marker = "s" if point.bias == 0.0 else "*"
                axes.scatter(
                    [_value(point.false_alarm_rate)],
                    [_value(point.proactive_recall)],
                    marker=marker,
                    s=120 if marker == "*" else 50,
                    color=color,
                    edgecolor="black",
                    zorder=3,
                )
    axes.set_xlim(-2, 102)
    axes.set_ylim(-2, 102)
    axes.set_xlabel("false-alarm rate (%)")
    axes.set_ylabel("proactive recall (%)")
    axes.grid(True, color="#e5e5e5")
    axes.legend(frameon=False, fontsize=8, loc="lower right")
    axes.set_title(
        f"Proactivity dial (square: bias 0, star: chosen {chosen_bias:+g})", loc="left", fontsize=10
    )
    return figure


def bias_sweep(dev: Sequence[OperatingPoint], test: Sequence[OperatingPoint], chosen_bias: float) -> Figure:
    """Macro-F1 against the proactive bias on dev and test; the chosen bias as a vertical line."""
    figure, axes = _axes(5.6, 3.6)
    for label, curve, color in (("dev", dev, run_color(0)), ("test", test, run_color(1))):
        axes.plot([p.bias for p in curve], [_value(p.macro_f1) for p in curve], color=color, label=label)
    axes.axvline(chosen_bias, color="#444444", linestyle="--", linewidth=1)
    axes.axvline(0.0, color="#bbbbbb", linestyle=":", linewidth=1)
    axes.set_xlabel("proactive bias (added to log p(proactive))")
    axes.set_ylabel("Macro-F1 (%)")
    axes.set_ylim(0, 102)
    axes.grid(True, color="#e5e5e5")
    axes.legend(frameon=False, fontsize=8, loc="lower right")
    axes.set_title(f"Macro-F1 vs. bias (chosen {chosen_bias:+g})", loc="left", fontsize=10)
    return figure
