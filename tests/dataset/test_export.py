from __future__ import annotations

import json
from pathlib import Path

import pytest

from behaviorbench.conversation import parse_behavior
from behaviorbench.dataset.export import export_messages
from behaviorbench.dataset.reader import load_cases
from behaviorbench.errors import BehaviorBenchError


def test_export_has_one_assistant_turn_per_utterance_starting_with_the_gold(dataset_dir: Path):
    written = export_messages(dataset_dir, "token")
    assert sorted(path.name for path in written) == [
        "messages-dev.jsonl",
        "messages-test.jsonl",
        "messages-test_unseen.jsonl",
        "messages-train.jsonl",
    ]
    cases = {case.case_id: case for case in load_cases(dataset_dir)}
    exported = 0
    for path in written:
        split = path.stem.removeprefix("messages-")
        for line in path.read_text().splitlines():
            record = json.loads(line)
            case = cases[record["case_id"]]
            assert record["split"] == case.split == split
            roles = [m["role"] for m in record["messages"]]
            assert roles[0] == "system"
            assert roles[1:] == ["user", "assistant"] * len(case.utterances)
            assistant = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
            assert [parse_behavior(a, "token") for a in assistant] == [s.gold_behavior for s in case.slots]
            exported += 1
    assert exported == len(cases)


def test_single_file_export_in_tagged_style(dataset_dir: Path, tmp_path: Path):
    out = tmp_path / "all.jsonl"
    assert export_messages(dataset_dir, "tagged", out) == {out: 20}
    first = json.loads(out.read_text().splitlines()[0])
    assistant = [m["content"] for m in first["messages"] if m["role"] == "assistant"]
    assert assistant[2].startswith("[REACTIVE] ")
    assert "Nurse Lee (nurse): Morning labs are back." in first["messages"][3]["content"]


def test_unknown_style_is_refused(dataset_dir: Path):
    with pytest.raises(BehaviorBenchError, match="--style: unknown style 'xml'"):
        export_messages(dataset_dir, "xml")
