"""Analyse a study: who wins each pair, overall strengths, ratings, and how far raters agree.

Conventions (also in docs/review.md):
- win, tie and loss rates of a pair are shares of all its comparisons (ties included in n), each
  with a 95% Wilson interval;
- Bradley–Terry counts a tie as half a win for each side; its 95% interval comes from resampling
  items (all raters of an item together), 1,000 times by default;
- agreement is measured on the overall choice, read in item terms (which system won, or tie) so
  that the random left/right sides do not count as disagreement, and on each criterion's scores.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from behaviorbench.dataset.atomic import atomic_open, atomic_write_text
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.review.stats import (
    bradley_terry,
    fleiss_kappa,
    krippendorff_alpha,
    mean_interval,
    pairwise_cohen_kappa,
    wilson_interval,
)
from behaviorbench.review.store import connect

BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Judgement:
    """One answer, translated from what the rater saw (A/B) to the systems behind it."""

    item: int
    rater: str
    category: str
    gold_behavior: str
    system_a: str
    system_b: str
    first: str
    second: str
    winner: str | None
    """The winning system's label, or None for a tie."""
    scores: dict[tuple[str, str], int]
    """(criterion, system label) -> 1..5"""
    comment: str


def load_judgements(db_path: Path) -> tuple[list[str], list[dict], list[Judgement]]:
    """Systems (in study order), criteria, and every answer resolved to systems."""
    connection = connect(db_path)
    try:
        systems = [row["label"] for row in connection.execute("SELECT label FROM systems ORDER BY id")]
        criteria = json.loads(connection.execute("SELECT criteria FROM studies").fetchone()["criteria"])
        rows = connection.execute(
            "SELECT answers.assignment_id, answers.choice, answers.comment, assignments.swap, "
            "assignments.item_id, raters.external_id AS rater, items.category, items.gold_behavior, "
            "sx.label AS x, sy.label AS y "
            "FROM answers JOIN assignments ON assignments.id = answers.assignment_id "
            "JOIN raters ON raters.id = assignments.rater_id JOIN items ON items.id = assignments.item_id "
            "JOIN systems sx ON sx.id = items.system_x JOIN systems sy ON sy.id = items.system_y "
            "ORDER BY answers.assignment_id"
        ).fetchall()
        scores: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
        for rating in connection.execute("SELECT assignment_id, criterion, side, score FROM ratings"):
            scores[rating["assignment_id"]][(rating["criterion"], rating["side"])] = rating["score"]
    finally:
        connection.close()
    judgements = []
    for row in rows:
        shown = {"A": row["y"], "B": row["x"]} if row["swap"] else {"A": row["x"], "B": row["y"]}
        judgements.append(
            Judgement(
                item=row["item_id"],
                rater=row["rater"],
                category=row["category"],
                gold_behavior=row["gold_behavior"],
                system_a=shown["A"],
                system_b=shown["B"],
                first=row["x"],
                second=row["y"],
                winner=None if row["choice"] == "tie" else shown[row["choice"]],
                scores={
                    (criterion, shown[side]): score
                    for (criterion, side), score in scores[row["assignment_id"]].items()
                },
                comment=row["comment"],
            )
        )
    return systems, criteria, judgements


def pairwise_table(systems: list[str], judgements: list[Judgement]) -> list[dict]:
    """Win/tie/loss of each pair of systems that was compared, with Wilson intervals."""
    rows = []
    for first, second in combinations(systems, 2):
        pair = [j for j in judgements if {j.first, j.second} == {first, second}]
        if not pair:
            continue
        n = len(pair)
        wins = sum(j.winner == first for j in pair)
        losses = sum(j.winner == second for j in pair)
        ties = n - wins - losses
        row = {"system_1": first, "system_2": second, "n": n, "wins": wins, "ties": ties, "losses": losses}
        for name, count in (("win", wins), ("tie", ties), ("loss", losses)):
            low, high = wilson_interval(count, n)
            row.update({f"{name}_rate": count / n, f"{name}_low": low, f"{name}_high": high})
        rows.append(row)
    return rows


def win_matrix(systems: list[str], judgements: list[Judgement]) -> np.ndarray:
    """wins[i, j]: how often system i beat system j, a tie counting half to each."""
    index = {label: i for i, label in enumerate(systems)}
    wins = np.zeros((len(systems), len(systems)))
    for j in judgements:
        x, y = index[j.first], index[j.second]
        if j.winner is None:
            wins[x, y] += 0.5
            wins[y, x] += 0.5
        elif j.winner == j.first:
            wins[x, y] += 1
        else:
            wins[y, x] += 1
    return wins


def strengths(
    systems: list[str], judgements: list[Judgement], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> list[dict]:
    """Bradley–Terry log-strengths with item-bootstrap 95% intervals."""
    theta = bradley_terry(win_matrix(systems, judgements))
    by_item: dict[int, list[Judgement]] = defaultdict(list)
    for j in judgements:
        by_item[j.item].append(j)
    items = list(by_item.values())
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            bradley_terry(
                win_matrix(systems, [j for k in rng.integers(0, len(items), len(items)) for j in items[k]])
            )
            for _ in range(resamples)
        ]
    )
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    return [
        {"system": label, "strength": float(theta[i]), "low": float(low[i]), "high": float(high[i])}
        for i, label in enumerate(systems)
    ]


def rating_table(systems: list[str], criteria: list[dict], judgements: list[Judgement]) -> list[dict]:
    """Mean 1–5 score per criterion per system with a t interval."""
    rows = []
    for criterion in criteria:
        for label in systems:
            values = [
                j.scores[(criterion["key"], label)]
                for j in judgements
                if (criterion["key"], label) in j.scores
            ]
            mean, low, high = mean_interval(values)
            rows.append(
                {
                    "criterion": criterion["key"],
                    "system": label,
                    "n": len(values),
                    "mean": mean,
                    "low": low,
                    "high": high,
                }
            )
    return rows


def agreement(criteria: list[dict], judgements: list[Judgement]) -> list[dict]:
    """Krippendorff's alpha, Fleiss' kappa and mean pairwise Cohen's kappa of the overall choice;
    ordinal alpha of each criterion's scores (a unit is one system's turn in one item)."""
    choice = [(j.item, j.rater, j.winner or "tie") for j in judgements]
    fleiss, fleiss_units = fleiss_kappa(choice)
    pairs = pairwise_cohen_kappa(choice)
    kappas = [p["kappa"] for p in pairs if not math.isnan(p["kappa"])]
    rows = [
        {
            "measure": "krippendorff_alpha",
            "of": "choice",
            "level": "nominal",
            "value": krippendorff_alpha(choice),
        },
        {
            "measure": "fleiss_kappa",
            "of": "choice",
            "level": "nominal",
            "value": fleiss,
            "units": fleiss_units,
        },
        {
            "measure": "mean_pairwise_cohen_kappa",
            "of": "choice",
            "level": "nominal",
            "value": float(np.mean(kappas)) if kappas else math.nan,
            "rater_pairs": len(kappas),
        },
    ]
    for criterion in criteria:
        records = [
            ((j.item, label), j.rater, score)
            for j in judgements
            for (key, label), score in j.scores.items()
            if key == criterion["key"]
        ]
        rows.append(
            {
                "measure": "krippendorff_alpha",
                "of": criterion["key"],
                "level": "ordinal",
                "value": krippendorff_alpha(records, "ordinal"),
            }
        )
    return rows


def analyse(db_path: Path, out: Path, resamples: int = BOOTSTRAP_RESAMPLES) -> dict:
    """Write results.json, CSV tables and PNG figures for a study into `out`; return the summary."""
    systems, criteria, judgements = load_judgements(db_path)
    if not judgements:
        raise BehaviorBenchError(f"{db_path}: no answers yet; nothing to analyse")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pairwise = [{"scope": "all", "value": "all", **row} for row in pairwise_table(systems, judgements)]
    for scope in ("category", "gold_behavior"):
        for value in sorted({getattr(j, scope) for j in judgements}):
            subset = [j for j in judgements if getattr(j, scope) == value]
            pairwise += [{"scope": scope, "value": value, **row} for row in pairwise_table(systems, subset)]
    summary = {
        "answers": len(judgements),
        "items": len({j.item for j in judgements}),
        "raters": len({j.rater for j in judgements}),
        "systems": systems,
        "pairwise": pairwise,
        "bradley_terry": strengths(systems, judgements, resamples),
        "ratings": rating_table(systems, criteria, judgements),
        "agreement": agreement(criteria, judgements),
        "cohen_kappa_pairs": pairwise_cohen_kappa([(j.item, j.rater, j.winner or "tie") for j in judgements]),
    }
    _write_csv(out / "pairwise.csv", summary["pairwise"])
    _write_csv(out / "bradley_terry.csv", summary["bradley_terry"])
    _write_csv(out / "ratings.csv", summary["ratings"])
    _write_csv(out / "agreement.csv", summary["agreement"])
    _write_csv(out / "answers.csv", [_answer_row(j, criteria) for j in judgements])
    from behaviorbench.review.figures import plot_ratings, plot_win_rates

    plot_win_rates([row for row in pairwise if row["scope"] == "all"], out / "win_rates.png")
    plot_ratings(summary["ratings"], systems, criteria, out / "ratings.png")
    atomic_write_text(out / "results.json", json.dumps(_finite(summary), indent=2) + "\n")
    return summary


def _answer_row(j: Judgement, criteria: list[dict]) -> dict:
    row = {
        "item": j.item,
        "rater": j.rater,
        "category": j.category,
        "gold_behavior": j.gold_behavior,
        "response_a": j.system_a,
        "response_b": j.system_b,
        "winner": j.winner or "tie",
    }
    for criterion in criteria:
        row[f"{criterion['key']}_a"] = j.scores.get((criterion["key"], j.system_a))
        row[f"{criterion['key']}_b"] = j.scores.get((criterion["key"], j.system_b))
    row["comment"] = j.comment
    return row


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A text cell a spreadsheet would run as a formula (`=HYPERLINK(...)`) is kept as text by a
    leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _finite(value):
    """JSON has no NaN: undefined statistics become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
