from __future__ import annotations

from pathlib import Path

import pytest
from sample_cases import make_cases

from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.dataset.manifest import dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases, load_cases
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case


def test_lines_round_trip_to_equal_cases():
    for case in make_cases(4):
        line = case_to_line(case)
        assert "\n" not in line
        assert Case.model_validate_json(line) == case
        assert '"kind":"table"' in line or '"kind":"image"' in line


def test_dataset_reads_back_every_case_in_split_order(dataset_dir: Path):
    cases = make_cases(20)
    manifest = load_manifest(dataset_dir)
    assert manifest.cases == 20
    assert [entry.path for entry in manifest.shards][:3] == [
        "train/shard-00000.jsonl",
        "train/shard-00001.jsonl",
        "train/shard-00002.jsonl",
    ]
    assert all(entry.cases <= 3 for entry in manifest.shards)
    read = load_cases(dataset_dir)
    assert sorted(c.case_id for c in read) == sorted(c.case_id for c in cases)
    for split in manifest.splits:
        assert load_cases(dataset_dir, split) == [c for c in cases if c.split == split]


def test_counts_describe_the_cases(dataset_dir: Path):
    counts = load_manifest(dataset_dir).counts
    cases = make_cases(20)
    assert counts.cases == 20
    assert counts.splits["train"] == sum(c.split == "train" for c in cases)
    assert counts.designated_slots == sum(len(c.designated) for c in cases)
    assert counts.ambient_slots == sum(len(c.slots) - len(c.designated) for c in cases)
    assert counts.category_behaviors["error_correction"] == {"proactive": 10, "silent": 10}
    assert counts.controls == {"error_correction": 10}
    assert counts.difficulty == {"distractor": sum(c.difficulty["distractor"] for c in cases)}


def test_unknown_split_lists_available_ones(dataset_dir: Path):
    with pytest.raises(BehaviorBenchError, match=r"unknown split 'validation'; available: train, dev, test"):
        list(iter_cases(dataset_dir, "validation"))


def test_single_jsonl_file_is_read_and_filtered(dataset_dir: Path):
    shard = dataset_dir / "dev" / "shard-00000.jsonl"
    assert [c.split for c in load_cases(shard)] == ["dev"] * 3
    assert load_cases(shard, "train") == []
    with pytest.raises(BehaviorBenchError, match="unknown split 'nope'"):
        load_cases(shard, "nope")


def test_bad_line_stops_the_read_naming_file_line_and_field(dataset_dir: Path):
    shard = dataset_dir / "train" / "shard-00000.jsonl"
    lines = shard.read_text().splitlines()
    lines[1] = lines[1].replace('"setting":"ward round"', '"setting":3')
    shard.write_text("\n".join(lines) + "\n")
    with pytest.raises(BehaviorBenchError) as error:
        load_cases(dataset_dir)
    assert str(error.value).startswith(f"{shard}:2: setting: wrong type")
    assert "\n" not in str(error.value)


def test_fingerprint_changes_with_the_dataset(tmp_path: Path, dataset_dir: Path):
    other = tmp_path / "other"
    write_dataset(other, make_cases(18), generator_version="test", seed=7, shard_size=3)
    again = tmp_path / "again"
    write_dataset(again, make_cases(20), generator_version="test", seed=7, shard_size=3)
    assert dataset_fingerprint(dataset_dir) == dataset_fingerprint(again)
    assert dataset_fingerprint(dataset_dir) != dataset_fingerprint(other)
    assert len(dataset_fingerprint(dataset_dir)) == 16


def test_missing_manifest_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(BehaviorBenchError, match="manifest.json: not found"):
        load_manifest(tmp_path)
    with pytest.raises(BehaviorBenchError, match="no such dataset"):
        load_cases(tmp_path / "absent")


def test_an_empty_known_split_is_named_as_such(tmp_path: Path):
    write_dataset(tmp_path / "d", make_cases(6), generator_version="test")
    with pytest.raises(
        BehaviorBenchError, match="holds no cases of split 'test_unseen'; available: train, dev"
    ):
        load_cases(tmp_path / "d", "test_unseen")
