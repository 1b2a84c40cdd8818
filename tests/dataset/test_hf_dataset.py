from __future__ import annotations

from pathlib import Path

from behaviorbench.dataset.hf import load_hf_dataset
from behaviorbench.dataset.reader import load_cases
from behaviorbench.schema import Case


def test_hf_dataset_has_one_split_per_split_and_round_trips(dataset_dir: Path):
    loaded = load_hf_dataset(dataset_dir, style="plain")
    # `dev` on disk is `validation` in datasets, the name trainers and the Hub look for.
    assert list(loaded) == ["train", "validation", "test", "test_unseen"]
    assert loaded.column_names["train"] == ["case_id", "split", "setting", "messages", "case_json"]
    for name, rows in loaded.items():
        split = "dev" if name == "validation" else name
        assert set(rows["split"]) == {split}
        cases = load_cases(dataset_dir, split)
        assert rows["case_id"] == [case.case_id for case in cases]
        assert [Case.model_validate_json(text) for text in rows["case_json"]] == cases
    row = loaded["validation"][0]
    assert row["messages"][0]["role"] == "system"
    assert row["messages"][2] == {"role": "assistant", "content": "No comment."}
