from __future__ import annotations

import json
from pathlib import Path

from sample_cases import make_cases

from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.dataset.writer import write_dataset


def edit_line(shard: Path, number: int, edit) -> None:
    """Apply `edit` to the parsed JSON of 1-based line `number` and write the shard back."""
    lines = shard.read_text().splitlines()
    data = json.loads(lines[number - 1])
    edit(data)
    lines[number - 1] = json.dumps(data)
    shard.write_text("\n".join(lines) + "\n")


def test_a_clean_dataset_has_no_problems(dataset_dir: Path):
    assert validate_dataset(dataset_dir) == []


def test_evidence_out_of_range_is_named(dataset_dir: Path):
    shard = dataset_dir / "dev" / "shard-00000.jsonl"
    edit_line(shard, 2, lambda case: case["slots"][2].update(evidence=[1, 4]))
    assert [str(p).split(": ")[1] for p in validate_dataset(dataset_dir) if p.file == str(shard)] == [
        "slots.2.evidence.1"
    ]


def test_slots_not_one_per_utterance(dataset_dir: Path):
    shard = dataset_dir / "dev" / "shard-00000.jsonl"
    edit_line(shard, 1, lambda case: case["slots"].pop())
    edit_line(shard, 2, lambda case: case["slots"][4].update(index=1))
    edit_line(shard, 3, lambda case: case["slots"][4].update(index=9))
    found = {(p.line, p.field): p.message for p in validate_dataset(dataset_dir) if p.file == str(shard)}
    assert found.keys() == {(1, "slots"), (2, "slots.4.index"), (3, "slots.4.index")}
    assert found[(3, "slots.4.index")] == "9 out of range: the case has 5 utterances"


def test_dangling_control_and_split_mismatch(dataset_dir: Path):
    shard = dataset_dir / "test" / "shard-00000.jsonl"
    edit_line(shard, 2, lambda case: case["slots"][3].update(control_of="no-such-task"))
    edit_line(shard, 3, lambda case: case.update(split="dev"))
    found = {(p.line, p.field): p.message for p in validate_dataset(dataset_dir) if p.file == str(shard)}
    assert "no-such-task" in found[(2, "slots.3.control_of")]
    assert found[(3, "split")] == "'dev' in a shard of split 'test'"


def test_manifest_counts_that_do_not_match(dataset_dir: Path):
    manifest = dataset_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["counts"]["categories"]["error_correction"] += 1
    data["counts"]["ambient_slots"] = 0
    text = json.dumps(data, indent=2)
    manifest.write_text(text)
    problems = validate_dataset(dataset_dir)
    assert {p.field for p in problems} == {"counts.categories.error_correction", "counts.ambient_slots"}
    for problem in problems:
        assert problem.file == str(manifest)
        key = problem.field.split(".")[-1]
        assert f'"{key}":' in text.splitlines()[problem.line - 1]


def test_scored_tasks_must_name_designated_slots(tmp_path: Path):
    cases = make_cases(4)
    real = cases[0].designated[0].task_id
    out = tmp_path / "data"
    write_dataset(out, cases, generator_version="test", scored_tasks=[real, "no-such-task", "another"])
    problems = validate_dataset(out)
    assert [(p.field, p.message) for p in problems] == [
        ("scored_tasks", "task 'no-such-task' is no designated slot of this dataset (+1 more)")
    ]
    assert '"scored_tasks":' in (out / "manifest.json").read_text().splitlines()[problems[0].line - 1]
    write_dataset(tmp_path / "ok", cases, generator_version="test", scored_tasks=[real])
    assert validate_dataset(tmp_path / "ok") == []


def test_unlisted_shard_is_reported(dataset_dir: Path):
    stray = dataset_dir / "train" / "shard-00099.jsonl"
    stray.write_text((dataset_dir / "train" / "shard-00000.jsonl").read_text())
    problems = validate_dataset(dataset_dir)
    assert any(p.file == str(stray) and "not listed" in p.message for p in problems)


def test_all_problems_are_reported_not_just_the_first(dataset_dir: Path):
    first, second = dataset_dir / "train" / "shard-00000.jsonl", dataset_dir / "dev" / "shard-00001.jsonl"
    edit_line(first, 1, lambda case: case.pop("setting"))
    edit_line(first, 3, lambda case: case["slots"][2].update(category="gossip"))
    edit_line(second, 1, lambda case: case.update(seed="seven"))
    found = {(Path(p.file).parent.name, p.line, p.field) for p in validate_dataset(dataset_dir)}
    assert {("train", 1, "setting"), ("train", 3, "slots.2.category"), ("dev", 1, "seed")} <= found


def test_single_file_is_validated(dataset_dir: Path):
    shard = dataset_dir / "train" / "shard-00000.jsonl"
    assert validate_dataset(shard) == []
    with open(shard, "a") as handle:
        handle.write('{"case_id": "x", \n')
    (problem,) = validate_dataset(shard)
    assert (problem.line, problem.field) == (4, "json")
    assert problem.message.startswith("truncated line")
