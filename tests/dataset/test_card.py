from __future__ import annotations

from pathlib import Path

import yaml

from behaviorbench.dataset.card import render_card
from behaviorbench.dataset.reader import load_cases


def test_card_reports_counts_and_one_example_per_present_category(dataset_dir: Path):
    card = render_card(dataset_dir)
    assert "| train | train | 8 | 16 |" in card
    assert "| dev | validation |" in card
    assert "| `error_correction` | proactive | 20 | 10 | 10 | 50.0 |" in card
    assert "| `ddx_reasoning` | reactive | 0 | 0 | 0 | 0.0 |" in card
    assert "| `distractor` | 5 |" in card
    assert card.count("\n### `") == 2
    example = card[card.index("### `error_correction`") :]
    assert "Weight is 700 kg" in example  # the positive, not the control
    assert "**Gold:** `<|proactive|>` A weight of 700 kg" in example


def test_card_header_is_what_the_hub_reads_and_its_files_load(dataset_dir: Path, tmp_path: Path, monkeypatch):
    card = render_card(dataset_dir)
    assert card.startswith("---\n")
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "apache-2.0"
    assert {"text-classification", "text-generation"} <= set(header["task_categories"])
    assert header["size_categories"] == ["n<1K"] and header["language"] == ["en"]
    [config] = header["configs"]
    files = {entry["split"]: entry["path"] for entry in config["data_files"]}
    assert files == {
        "train": "train/*.jsonl",
        "validation": "dev/*.jsonl",
        "test": "test/*.jsonl",
        "test_unseen": "test_unseen/*.jsonl",
    }
    # The header's data_files, read by datasets' own json builder, give every split's cases.
    import datasets

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    loaded = datasets.load_dataset(
        "json",
        data_files={split: str(dataset_dir / path) for split, path in files.items()},
        cache_dir=str(tmp_path / "hf"),
    )
    for split, rows in loaded.items():
        on_disk = "dev" if split == "validation" else split
        assert rows["case_id"] == [case.case_id for case in load_cases(dataset_dir, on_disk)]
