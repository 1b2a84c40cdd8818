"""BehaviorBench-Hard: selection by reference runs and knobs, twins kept, a normal dataset out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from run_factory import make_dataset, simulate, write_run

from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.reader import load_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.runner import run_eval
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.reporting.hard import build_hard, is_wrong
from behaviorbench.reporting.runs import load_run


def test_selects_missed_tasks_and_knob_cases_with_their_twins(
    runs: dict[str, Path], data_dir: Path, tmp_path: Path
):
    out = tmp_path / "hard"
    selection = build_hard([runs["sft"], runs["zero"]], data_dir, out, min_wrong=2)
    assert validate_dataset(out) == []
    cases = {c.case_id: c for c in load_cases(out)}

    missed_by_both = set.intersection(
        *(
            {s.task_id for s in load_run(runs[name]).samples if s.task_id and is_wrong(s)}
            for name in ("sft", "zero")
        )
    )
    selected_tasks = {s.task_id for c in cases.values() for s in c.designated}
    assert missed_by_both and missed_by_both <= selected_tasks
    assert {t.task_id for t in selection.tasks} == missed_by_both

    source = load_cases(data_dir)
    # By default a case is hard by construction with two knobs on; one is not enough.
    two_knobs = {c.case_id for c in source if c.split == "test" and sum(c.difficulty.values()) >= 2}
    one_knob = {c.case_id for c in source if c.split == "test" and sum(c.difficulty.values()) == 1}
    assert two_knobs and two_knobs <= set(cases)
    assert selection.min_knobs == 2
    assert not one_knob <= set(cases)
    assert not any(c.split == "dev" for c in cases.values())

    # Twins: every selected case's pair (indices 2k, 2k+1) is selected too.
    for case_id in cases:
        index = int(case_id.removeprefix("case-"))
        assert f"case-{index ^ 1:04d}" in cases
    # Cases are the source's, unchanged, in source order.
    assert [c for c in source if c.case_id in cases] == list(cases.values())
    assert selection.counts.cases == len(cases) == load_manifest(out).cases

    card = (out / "CARD.md").read_text()
    assert "How this subset was selected" in card
    assert "at least **2** of the\n   2 reference runs" in card
    assert "| sft | behaviorsft | test |" in card
    recorded = json.loads((out / "selection.json").read_text())
    assert recorded["min_wrong"] == 2 and [r["name"] for r in recorded["runs"]] == ["sft", "zero"]


def test_eval_on_the_subset_scores_the_selected_tasks_and_their_pairs_only(
    runs: dict[str, Path], data_dir: Path, tmp_path: Path
):
    out = tmp_path / "hard"
    selection = build_hard([runs["sft"], runs["zero"]], data_dir, out, min_wrong=2, min_knobs=0)
    cases = load_cases(out)
    partner = {}
    for slot in (s for c in cases for s in c.designated if s.control_of):
        partner[slot.task_id], partner[slot.control_of] = slot.control_of, slot.task_id
    missed = {task.task_id for task in selection.tasks}
    expected = missed | {partner[t] for t in missed if t in partner}
    manifest = load_manifest(out)
    assert set(manifest.scored_tasks) == expected and selection.counts.scored_tasks == len(expected)
    assert expected - missed, "some pair partner is scored without being missed"
    context_only = {s.task_id for c in cases for s in c.designated} - expected
    assert context_only, "some designated slots of selected cases are context only"

    tiny = make_tiny_model(tmp_path / "tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "cache"))
        run_eval(EvalConfig(model=f"hf:{tiny}", data=out, max_tokens=4, bootstrap=20), tmp_path / "run")
    samples = load_run(tmp_path / "run").samples
    assert {s.task_id for s in samples if s.designated} == expected
    ambient = [(c.case_id, s.index) for c in cases for s in c.slots if not s.designated]
    assert sorted((s.case_id, s.slot) for s in samples if not s.designated) == sorted(ambient)
    assert f"**{len(expected):,} are scored**" in (out / "CARD.md").read_text()


def test_min_knobs_one_takes_every_case_with_a_knob(runs: dict[str, Path], data_dir: Path, tmp_path: Path):
    selection = build_hard([runs["sft"]], data_dir, tmp_path / "k", min_wrong=1, min_knobs=1)
    knob_cases = {c.case_id for c in load_cases(data_dir, "test") if any(c.difficulty.values())}
    assert knob_cases <= set(selection.case_ids)
    assert "at least 1 of these difficulty knobs on" in (tmp_path / "k" / "CARD.md").read_text()


def test_a_higher_threshold_selects_fewer_tasks(runs: dict[str, Path], data_dir: Path, tmp_path: Path):
    loose = build_hard([runs["sft"], runs["zero"]], data_dir, tmp_path / "a", min_wrong=1, min_knobs=0)
    strict = build_hard([runs["sft"], runs["zero"]], data_dir, tmp_path / "b", min_wrong=2, min_knobs=0)
    assert strict.counts.tasks_wrong < loose.counts.tasks_wrong
    assert set(strict.case_ids) <= set(loose.case_ids)


def test_same_runs_give_byte_identical_output(runs: dict[str, Path], data_dir: Path, tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    build_hard([runs["sft"], runs["zero"]], data_dir, first)
    build_hard([runs["sft"], runs["zero"]], data_dir, second)
    build_hard([runs["sft"], runs["zero"]], data_dir, second, force=True)  # replacing a previous subset
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_hard_command_and_its_errors(
    runs: dict[str, Path], data_dir: Path, tmp_path: Path, run_main: Callable
):
    code, err = run_main(
        "hard", "--runs", runs["sft"], runs["zero"], "--data", data_dir, "--out", tmp_path / "h"
    )
    assert code == 0, err
    assert load_manifest(tmp_path / "h").cases > 0

    # A perfect run misses nothing, and with knobs off nothing is hard by construction: empty.
    perfect = write_run(
        tmp_path / "perfect", simulate(load_cases(data_dir, "test"), 50.0, 0.0, 0), "oracle", "test", data_dir
    )
    code, err = run_main(
        "hard", "--runs", perfect, "--data", data_dir, "--out", tmp_path / "e", "--knob", "none"
    )
    assert code == 2 and "unknown knob 'none'" in err
    code, err = run_main(
        "hard",
        "--runs",
        perfect,
        "--data",
        data_dir,
        "--out",
        tmp_path / "e",
        "--min-wrong",
        "1",
        "--min-knobs",
        "0",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "nothing to select" in err and not (tmp_path / "e").exists()

    other = make_dataset(tmp_path / "other", pairs=6)
    foreign = write_run(
        tmp_path / "foreign", simulate(load_cases(other, "test"), 1.0, 0.0, 0), "m", "test", other
    )
    code, err = run_main("hard", "--runs", runs["sft"], foreign, "--data", data_dir, "--out", tmp_path / "f")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "dataset_fingerprint" in err and "same dataset" in err
