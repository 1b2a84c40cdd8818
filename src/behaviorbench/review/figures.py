"""PNG figures of a study: win/tie/loss per pair and mean ratings per criterion, with 95% intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from behaviorbench.dataset.atomic import atomic_open  # noqa: E402

OUTCOME_COLOURS = {"win": "#2f6fdb", "tie": "#a9b3bd", "loss": "#d9822b"}


def plot_win_rates(pairs: list[dict], path: Path) -> None:
    """One row of three bars (win, tie, loss of the first system) per pair, Wilson intervals as whiskers."""
    fig, ax = plt.subplots(figsize=(7.5, 1.1 + 0.9 * len(pairs)))
    height = 0.25
    for row_index, row in enumerate(pairs):
        for offset, outcome in enumerate(("win", "tie", "loss")):
            rate = row[f"{outcome}_rate"]
            error = [[rate - row[f"{outcome}_low"]], [row[f"{outcome}_high"] - rate]]
            ax.barh(
                row_index + (offset - 1) * height,
                rate,
                height,
                xerr=error,
                color=OUTCOME_COLOURS[outcome],
                capsize=3,
                label=outcome if row_index == 0 else None,
            )
    ax.set_yticks(range(len(pairs)))
    ax.set_yticklabels([f"{row['system_1']}\nvs {row['system_2']} (n={row['n']})" for row in pairs])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of comparisons: first-named system wins / ties / loses (95% Wilson)")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title("Blind pairwise preference")
    _save(fig, path)


def plot_ratings(rows: list[dict], systems: list[str], criteria: list[dict], path: Path) -> None:
    """Grouped bars: mean 1–5 score per criterion, one bar per system, t intervals as whiskers."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    width = 0.8 / len(systems)
    for index, label in enumerate(systems):
        means, lows, highs = [], [], []
        for criterion in criteria:
            row = next(r for r in rows if r["system"] == label and r["criterion"] == criterion["key"])
            means.append(row["mean"])
            lows.append(row["mean"] - row["low"] if np.isfinite(row["low"]) else 0.0)
            highs.append(row["high"] - row["mean"] if np.isfinite(row["high"]) else 0.0)
        positions = np.arange(len(criteria)) + (index - (len(systems) - 1) / 2) * width
        ax.bar(positions, means, width, yerr=[lows, highs], capsize=3, label=label)
    ax.set_xticks(range(len(criteria)))
    ax.set_xticklabels([criterion["label"] for criterion in criteria])
    ax.set_ylim(1, 5.3)
    ax.set_ylabel("mean rating (1-5, 95% interval)")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title("Ratings per criterion")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_open(Path(path), "wb") as handle:
        fig.savefig(handle, format="png", dpi=120)
    plt.close(fig)
