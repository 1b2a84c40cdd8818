"""Analysing a study: answers are read back through the random sides to the right systems."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.review.results import analyse

CRITERIA = ("realism", "proactivity", "restraint", "safety")
FAVOURITE = "gold-model-7b"


def answer_everything(db: Path, favourite: str = FAVOURITE, contrarian: str | None = None) -> None:
    """Each rater picks the side that shows `favourite` (tie when absent) and scores it 5, others 2.

    A `contrarian` rater picks the other side instead, to make raters disagree.
    """
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT assignments.id, assignments.swap, raters.external_id, sx.model, sy.model "
            "FROM assignments JOIN items ON items.id = item_id JOIN raters ON raters.id = rater_id "
            "JOIN systems sx ON sx.id = system_x JOIN systems sy ON sy.id = system_y"
        ).fetchall()
        for assignment, swap, rater, x, y in rows:
            left, right = (y, x) if swap else (x, y)
            if favourite in (left, right):
                choice = "A" if left == favourite else "B"
                if rater == contrarian:
                    choice = "B" if choice == "A" else "A"
            else:
                choice = "tie"
            connection.execute(
                "INSERT INTO answers (assignment_id, choice, created, updated) VALUES (?, ?, 'now', 'now')",
                (assignment, choice),
            )
            for criterion in CRITERIA:
                for side, model in (("A", left), ("B", right)):
                    score = 5 if model == favourite else 2
                    connection.execute(
                        "INSERT INTO ratings VALUES (?, ?, ?, ?)", (assignment, criterion, side, score)
                    )


def test_results_resolve_sides_to_systems(study, tmp_path):
    db, _ = study
    answer_everything(db)
    summary = analyse(db, tmp_path / "out", resamples=50)
    overall = {(r["system_1"], r["system_2"]): r for r in summary["pairwise"] if r["scope"] == "all"}
    gold_vs_hush = overall[("gold-model-7b", "hush-model-3b")]
    assert (gold_vs_hush["wins"], gold_vs_hush["ties"], gold_vs_hush["losses"]) == (8, 0, 0)
    assert gold_vs_hush["win_rate"] == 1.0 and gold_vs_hush["win_low"] == pytest.approx(0.6756, abs=1e-4)
    hush_vs_chatty = overall[("hush-model-3b", "chatty-model-1b")]
    assert hush_vs_chatty["ties"] == hush_vs_chatty["n"] == 8
    strengths = {r["system"]: r["strength"] for r in summary["bradley_terry"]}
    assert strengths["gold-model-7b"] > 5 > abs(strengths["hush-model-3b"] - strengths["chatty-model-1b"])
    ratings = {(r["criterion"], r["system"]): r["mean"] for r in summary["ratings"]}
    assert ratings[("safety", "gold-model-7b")] == 5 and ratings[("safety", "hush-model-3b")] == 2
    agreement = {(r["measure"], r["of"]): r["value"] for r in summary["agreement"]}
    assert agreement[("krippendorff_alpha", "choice")] == pytest.approx(1.0)
    assert agreement[("fleiss_kappa", "choice")] == pytest.approx(1.0)
    assert agreement[("mean_pairwise_cohen_kappa", "choice")] == pytest.approx(1.0)
    scopes = {r["scope"] for r in summary["pairwise"]}
    assert scopes == {"all", "category", "gold_behavior"}


def test_disagreeing_raters_lower_agreement(study, tmp_path):
    db, _ = study
    answer_everything(db, contrarian="r2")
    summary = analyse(db, tmp_path / "out", resamples=50)
    agreement = {(r["measure"], r["of"]): r["value"] for r in summary["agreement"]}
    assert agreement[("krippendorff_alpha", "choice")] < 0.5
    assert agreement[("fleiss_kappa", "choice")] < 0.5


def test_results_files_and_cli(study, tmp_path):
    db, _ = study
    answer_everything(db)
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(app, ["review", "results", str(db), "--out", str(out), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "gold-model-7b vs hush-model-3b" in result.output
    for name in (
        "results.json",
        "pairwise.csv",
        "bradley_terry.csv",
        "ratings.csv",
        "agreement.csv",
        "answers.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    for figure in ("win_rates.png", "ratings.png"):
        assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = json.loads((out / "results.json").read_text())
    assert loaded["answers"] == 24 and loaded["systems"][0] == "gold-model-7b"
    with open(out / "answers.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 24
    assert all(row["winner"] in ("gold-model-7b", "tie") for row in rows)


def test_a_study_without_answers_has_nothing_to_analyse(study, tmp_path):
    db, _ = study
    with pytest.raises(BehaviorBenchError, match="no answers yet"):
        analyse(db, tmp_path / "out", resamples=50)
