"""The dataset commands end to end: a real build, corrupted on disk, checked through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from behaviorbench.cli import app
from behaviorbench.conversation import parse_behavior
from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.reader import load_cases
from behaviorbench.generation import GENERATOR_VERSION

runner = CliRunner()
ENTRY_POINT = Path(sys.executable).parent / "behaviorbench"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "data"
    result = runner.invoke(
        app, ["build", "--cases", "16", "--seed", "5", "--out", str(out), "--workers", "2", "--scenes", "2"]
    )
    assert result.exit_code == 0, result.output
    assert f"built {out}: 16 cases" in result.output
    return out


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built dataset for a test to corrupt."""
    return Path(shutil.copytree(built, tmp_path / "data"))


def first_shard(dataset: Path) -> Path:
    return dataset / load_manifest(dataset).shards[0].path


def edit_line(shard: Path, number: int, edit: Callable[[str], str]) -> None:
    lines = shard.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    shard.write_text("\n".join(lines) + "\n")


def edit_case(shard: Path, number: int, edit: Callable[[dict], None]) -> None:
    def apply(line: str) -> str:
        data = json.loads(line)
        edit(data)
        return json.dumps(data)

    edit_line(shard, number, apply)


def validate_fails(dataset: Path, file: Path, line: int, field: str) -> str:
    """Run `validate`, expect exit 1 and a problem line for file:line: field; return its message."""
    result = runner.invoke(app, ["validate", str(dataset)])
    assert result.exit_code == 1, result.output
    prefix = f"{file}:{line}: {field}: "
    matching = [out for out in result.output.splitlines() if out.startswith(prefix)]
    assert matching, result.output
    return matching[0].removeprefix(prefix)


def test_validate_accepts_a_fresh_build(built: Path):
    result = runner.invoke(app, ["validate", str(built)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK {built}: 16 cases")


def test_truncated_line(copy: Path):
    shard = first_shard(copy)
    edit_line(shard, 2, lambda line: line[: len(line) // 2])
    assert validate_fails(copy, shard, 2, "json").startswith("truncated line")


def test_bad_json(copy: Path):
    shard = first_shard(copy)
    edit_line(shard, 1, lambda line: line.replace('"split":', '"split";', 1))
    assert validate_fails(copy, shard, 1, "json").startswith("bad JSON")


def test_unknown_category(copy: Path):
    shard = first_shard(copy)
    case = load_cases(shard)[0]
    slot = case.designated[0].index
    edit_case(shard, 1, lambda data: data["slots"][slot].update(category="gossip"))
    assert validate_fails(copy, shard, 1, f"slots.{slot}.category").startswith("unknown value 'gossip'")


def test_missing_field(copy: Path):
    shard = first_shard(copy)
    edit_case(shard, 2, lambda data: data.pop("setting"))
    assert validate_fails(copy, shard, 2, "setting") == "missing field"


def test_wrong_type(copy: Path):
    shard = first_shard(copy)
    edit_case(shard, 1, lambda data: data.update(seed="five"))
    assert validate_fails(copy, shard, 1, "seed").startswith("wrong type")


def test_duplicate_case_id(copy: Path):
    shard = first_shard(copy)
    first = load_cases(shard)[0].case_id
    edit_case(shard, 2, lambda data: data.update(case_id=first))
    assert validate_fails(copy, shard, 2, "case_id") == f"duplicate case id {first!r}, first at {shard}:1"


def test_slot_index_out_of_range(copy: Path):
    shard = first_shard(copy)
    last = len(load_cases(shard)[0].slots) - 1
    edit_case(shard, 1, lambda data: data["slots"][last].update(index=999))
    assert "999 out of range" in validate_fails(copy, shard, 1, f"slots.{last}.index")


def test_missing_shard(copy: Path):
    entry = load_manifest(copy).shards[-1]
    (copy / entry.path).unlink()
    manifest = copy / "manifest.json"
    line = next(n for n, text in enumerate(manifest.read_text().splitlines(), 1) if entry.path in text)
    index = len(load_manifest(copy).shards) - 1
    assert "is missing" in validate_fails(copy, manifest, line, f"shards.{index}.path")


def test_sha256_mismatch(copy: Path):
    shard = first_shard(copy)
    edit_line(shard, 1, lambda line: "{ " + line[1:])  # same case, different bytes
    manifest = copy / "manifest.json"
    lines = manifest.read_text().splitlines()
    at = next(n for n, text in enumerate(lines, 1) if shard.relative_to(copy).as_posix() in text)
    line = next(n for n, text in enumerate(lines, 1) if n > at and '"sha256"' in text)
    result = runner.invoke(app, ["validate", str(copy)])
    assert result.exit_code == 1
    (problem,) = result.stdout.splitlines()  # the case itself is fine: nothing else to report
    assert problem.startswith(f"{manifest}:{line}: shards.0.sha256: ")
    assert "1 problem in" in result.stderr


def test_export_reads_back_with_gold_tokens(built: Path):
    result = runner.invoke(app, ["export", str(built), "--format", "messages", "--style", "token"])
    assert result.exit_code == 0, result.output
    cases = {case.case_id: case for case in load_cases(built)}
    seen = 0
    for path in sorted((built / "export").glob("messages-*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            case = cases[record["case_id"]]
            turns = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
            assert len(turns) == len(case.utterances)
            assert [parse_behavior(turn, "token") for turn in turns] == [s.gold_behavior for s in case.slots]
            seen += 1
    assert seen == len(cases)


def test_export_refuses_an_unknown_format(built: Path):
    result = runner.invoke(app, ["export", str(built), "--format", "parquet"])
    assert result.exit_code != 0
    assert "--format: unknown format 'parquet'" in str(result.exception)


def test_card_is_written_and_printed(built: Path, tmp_path: Path):
    out = tmp_path / "card.md"
    result = runner.invoke(app, ["card", str(built), "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = out.read_text()
    assert f"| generator version | `{GENERATOR_VERSION}` |" in card
    categories = load_manifest(built).counts.categories
    assert card.count("\n### `") == len(categories)
    assert "Gold behaviors" in result.output


def test_show_prints_the_drama_with_its_slots(built: Path):
    case = load_cases(built)[0]
    result = runner.invoke(app, ["show", str(built), "--case", case.case_id, "--all-slots"])
    assert result.exit_code == 0, result.output
    assert case.case_id in result.output
    assert case.utterances[0].speaker in result.output
    assert result.output.count("· silent") == len(case.slots) - len(case.designated)
    for slot in case.designated:
        assert f"slot {slot.index} · {slot.category.value}" in result.output


def test_entry_point_exit_codes(built: Path, copy: Path):
    ok = subprocess.run([ENTRY_POINT, "validate", built], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("OK ")
    (copy / load_manifest(copy).shards[0].path).unlink()
    broken = subprocess.run([ENTRY_POINT, "validate", copy], capture_output=True, text=True)
    assert broken.returncode == 1 and "is missing" in broken.stdout
    refused = subprocess.run(
        [ENTRY_POINT, "build", "--cases", "4", "--seed", "5", "--out", built], capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "holds a different dataset" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
