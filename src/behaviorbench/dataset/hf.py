"""Load a dataset directory as a Hugging Face `datasets.DatasetDict`, one split per split.

Splits take the names `datasets` users expect: the on-disk `dev` split is `validation` (the
Hugging Face convention, which `load_dataset` and trainers look for); the others keep their names.
The dataset card's YAML header maps the shard folders to the same names for the Hub.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from behaviorbench.conversation import Style, case_messages
from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.reader import iter_cases

if TYPE_CHECKING:
    import datasets

HF_SPLIT_NAMES = {"dev": "validation"}
"""On-disk split name -> the name it has in `datasets`; unlisted splits keep theirs."""


def hf_split_name(split: str) -> str:
    return HF_SPLIT_NAMES.get(split, split)


def load_hf_dataset(directory: Path, style: Style = "token") -> datasets.DatasetDict:
    """Columns: case_id, split, setting, messages (chat turns in `style`) and case_json (the native line).

    The `split` column keeps the on-disk name (`dev`), the key of the DatasetDict is `validation`.

    `case_json` keeps every field the chat view drops (slots, targets, evidence), so scoring code
    can rebuild the `Case` with `Case.model_validate_json`.
    """
    import datasets

    splits = {}
    for split in load_manifest(Path(directory)).splits:
        rows: dict[str, list] = {"case_id": [], "split": [], "setting": [], "messages": [], "case_json": []}
        for case in iter_cases(Path(directory), split):
            rows["case_id"].append(case.case_id)
            rows["split"].append(case.split)
            rows["setting"].append(case.setting)
            rows["messages"].append(case_messages(case, style))
            rows["case_json"].append(case_to_line(case))
        splits[hf_split_name(split)] = datasets.Dataset.from_dict(rows)
    return datasets.DatasetDict(splits)
