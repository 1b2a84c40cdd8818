from __future__ import annotations

from pathlib import Path

import pytest

from behaviorbench.dataset.build import BUILDING, build_dataset
from behaviorbench.dataset.reader import load_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation import GENERATOR_VERSION

CASES, SEED, SCENES = 24, 11, 2


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "data"
    build_dataset(out, CASES, SEED, workers=1, scenes=SCENES, progress=False)
    return out


def test_build_writes_a_valid_dataset_described_by_its_manifest(built: Path):
    assert validate_dataset(built) == []
    cases = load_cases(built)
    assert len(cases) == CASES and len({c.case_id for c in cases}) == CASES
    assert all(c.version == GENERATOR_VERSION and c.seed == SEED for c in cases)
    for shard in built.glob("*/shard-*.jsonl"):
        assert {c.split for c in load_cases(shard)} == {shard.parent.name}


def test_shards_are_byte_identical_whatever_the_worker_count(built: Path, tmp_path: Path):
    pooled = tmp_path / "pooled"
    build_dataset(pooled, CASES, SEED, workers=2, scenes=SCENES, progress=False)
    assert files_of(pooled) == files_of(built)


def test_a_case_depends_only_on_seed_and_index(built: Path, tmp_path: Path):
    smaller = tmp_path / "smaller"
    build_dataset(smaller, CASES // 2, SEED, workers=1, scenes=SCENES, progress=False)
    by_id = {case.case_id: case for case in load_cases(built)}
    small = load_cases(smaller)
    assert small and all(by_id[case.case_id] == case for case in small)


def test_rebuilding_the_same_dataset_in_place_is_allowed(built: Path):
    before = files_of(built)
    build_dataset(built, CASES, SEED, workers=1, scenes=SCENES, progress=False)
    assert files_of(built) == before


def test_refuses_a_directory_holding_something_else(built: Path, tmp_path: Path):
    with pytest.raises(BehaviorBenchError, match=r"holds a different dataset \(seed 11 != 12\)"):
        build_dataset(built, CASES, SEED + 1, scenes=SCENES, progress=False)
    stranger = tmp_path / "notes"
    stranger.mkdir()
    (stranger / "todo.txt").write_text("x")
    with pytest.raises(BehaviorBenchError, match="not empty and holds no manifest.json"):
        build_dataset(stranger, CASES, SEED, scenes=SCENES, progress=False)
    assert list(stranger.iterdir()) == [stranger / "todo.txt"]


def test_an_interrupted_build_is_replaced_and_its_stale_shards_removed(built: Path, tmp_path: Path):
    out = tmp_path / "data"
    stale = out / "train" / "shard-00007.jsonl"
    stale.parent.mkdir(parents=True)
    stale.write_text("half a line")
    (out / BUILDING).write_text("{}")  # what a build writes first
    build_dataset(out, CASES, SEED, workers=1, scenes=SCENES, progress=False)
    assert not stale.exists()
    assert files_of(out) == files_of(built)


def test_shards_without_a_build_marker_are_someone_elses_and_kept(tmp_path: Path):
    out = tmp_path / "data"
    mine = out / "test" / "shard-00007.jsonl"
    mine.parent.mkdir(parents=True)
    mine.write_text("a user's file")
    with pytest.raises(BehaviorBenchError, match="holds no manifest.json"):
        build_dataset(out, CASES, SEED, workers=1, scenes=SCENES, progress=False)
    assert mine.read_text() == "a user's file"
    assert [p.relative_to(out) for p in out.rglob("*")] == [Path("test"), Path("test/shard-00007.jsonl")]
