"""Creating a study: contents of the database, secrets, determinism and refusals."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from review_fixtures import POLICIES, SYSTEM_MODELS, make_case, write_run
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.review.raters import load_raters
from behaviorbench.review.store import sha256_hex
from behaviorbench.review.study import create_study


def rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def test_study_holds_balanced_blind_design_and_only_token_hashes(study):
    db, tokens = study
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]
    assert [r[0] for r in rows(db, "SELECT model FROM systems ORDER BY id")] == list(SYSTEM_MODELS)
    items = rows(db, "SELECT category, system_x, system_y, response_x, response_y FROM items")
    assert len(items) == 12
    assert set(Counter(r[0] for r in items).values()) == {2}, "12 items over 6 categories: 2 each"
    pairs = Counter((r[1], r[2]) for r in items)
    assert pairs == {(1, 2): 4, (1, 3): 4, (2, 3): 4}
    assert all(r[3] != r[4] for r in items), "every chosen slot has differing responses"
    per_item = Counter(r[0] for r in rows(db, "SELECT item_id FROM assignments"))
    assert set(per_item.values()) == {2}
    loads = Counter(r[0] for r in rows(db, "SELECT rater_id FROM assignments"))
    assert sorted(loads.values()) == [8, 8, 8]
    stored = {r[0] for r in rows(db, "SELECT token_sha256 FROM raters")}
    assert stored == {sha256_hex(token) for token in tokens.values()}
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert not any(token in dump for token in tokens.values()), "raw tokens are never stored"
    images = rows(db, "SELECT COUNT(*) FROM images")[0][0]
    assert images > 0, "rhythm strips are copied into the study"


def test_context_stops_at_the_slot_and_keeps_earlier_gold_assistant_turns(study):
    db, _ = study
    for slot, context in rows(db, "SELECT slot, context FROM items"):
        turns = json.loads(context)
        people = [t for t in turns if t["role"] != "AI assistant"]
        assert len(people) == slot + 1
        assert all(t["text"].startswith("Gold reply") for t in turns if t["role"] == "AI assistant")


def test_same_seed_gives_the_same_design(tmp_path, review_runs, raters_file):
    _, runs = review_runs
    design = (
        "SELECT case_id, slot, system_x, system_y, rater_id, position, swap "
        "FROM items JOIN assignments ON item_id = items.id ORDER BY rater_id, position"
    )
    first = create_study(runs, raters_file, 10, 2, seed=11, out=tmp_path / "a.db")
    second = create_study(runs, raters_file, 10, 2, seed=11, out=tmp_path / "b.db")
    other = create_study(runs, raters_file, 10, 2, seed=12, out=tmp_path / "c.db")
    assert rows(tmp_path / "a.db", design) == rows(tmp_path / "b.db", design)
    assert rows(tmp_path / "a.db", design) != rows(tmp_path / "c.db", design)
    assert [t for _, t in first.links] != [t for _, t in second.links], "tokens come from secrets"
    assert other.items == 10


def test_runs_on_different_datasets_are_refused(tmp_path, review_runs, raters_file):
    data_dir, runs = review_runs
    other_data = tmp_path / "other-data"
    cases = [make_case(i) for i in range(5)]
    write_dataset(other_data, cases, generator_version="test", seed=4)
    stranger = write_run(tmp_path / "run-other", "other-model", other_data, cases, POLICIES["gold-model-7b"])
    with pytest.raises(BehaviorBenchError, match=r"dataset_fingerprint .* differs") as error:
        create_study([runs[0], stranger], raters_file, 4, 1, 0, tmp_path / "x.db")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "x.db").exists()


def test_existing_study_is_not_overwritten(study, review_runs, raters_file):
    db, _ = study
    with pytest.raises(BehaviorBenchError, match="already exists"):
        create_study(review_runs[1], raters_file, 4, 1, 0, db)


def test_harness_results_layout_is_read(tmp_path, review_runs, raters_file):
    """results.json as the harness writes it: identity under "run", dataset under "dataset_dir"."""
    data_dir, runs = review_runs
    for run in runs[:2]:
        flat = json.loads((run / "results.json").read_text())
        nested = {
            "run": {k: flat[k] for k in ("model", "protocol", "dataset_fingerprint", "split")},
            "dataset_dir": flat["data_dir"],
        }
        (run / "results.json").write_text(json.dumps(nested))
    summary = create_study(runs[:2], raters_file, 6, 1, 0, tmp_path / "h.db")
    assert summary.items == 6


def test_raters_from_csv_and_bad_rows(tmp_path):
    good = tmp_path / "raters.csv"
    good.write_text("id,name,email\nr1,Ada,ada@example.org\nr2,Ben,\n", encoding="utf-8")
    assert [(r.id, r.email) for r in load_raters(good)] == [("r1", "ada@example.org"), ("r2", None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,email\nr1,a@b\n", encoding="utf-8")
    with pytest.raises(BehaviorBenchError, match=r"bad.csv: line 2: name: Field required"):
        load_raters(bad)
    twice = tmp_path / "twice.yaml"
    twice.write_text("- {id: r1, name: A}\n- {id: r1, name: B}\n", encoding="utf-8")
    with pytest.raises(BehaviorBenchError, match="appears twice"):
        load_raters(twice)


def test_cli_create_prints_each_link_once(tmp_path, review_runs, raters_file):
    _, runs = review_runs
    out = tmp_path / "cli.db"
    result = CliRunner().invoke(
        app,
        [
            "review",
            "create",
            "--runs",
            str(runs[0]),
            str(runs[1]),
            "--raters",
            str(raters_file),
            "--items",
            "6",
            "--overlap",
            "2",
            "--seed",
            "1",
            "--out",
            str(out),
            "--port",
            "9100",
        ],
    )
    assert result.exit_code == 0, result.output
    links = [line.split("\t")[-1] for line in result.output.splitlines() if "/r/" in line]
    assert len(links) == 3 and all(link.startswith("http://127.0.0.1:9100/r/") for link in links)
    hashes = {r[0] for r in rows(out, "SELECT token_sha256 FROM raters")}
    assert {sha256_hex(link.rsplit("/", 1)[1]) for link in links} == hashes
    assert rows(out, "SELECT COUNT(DISTINCT system_x || '-' || system_y) FROM items") == [(1,)]
