"""A writable copy of the packaged knowledge-base files, for tests that break one entry on purpose."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from behaviorbench.knowledge.load import DATA_FILES


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "kb"
    directory.mkdir()
    packaged = files("behaviorbench.knowledge") / "data"
    for name in DATA_FILES:
        (directory / name).write_bytes((packaged / name).read_bytes())
    return directory


EditEntry = Callable[[str, str, Callable[[dict[str, Any]], None]], None]


@pytest.fixture
def edit_entry(data_copy: Path) -> EditEntry:
    """Apply a change to one entry (by file and id) of the copied data and write the file back."""

    def edit(file: str, entry_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = data_copy / file
        entries = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        (entry,) = [item for item in entries if item["id"] == entry_id]
        change(entry)
        path.write_text(yaml.dump(entries, Dumper=yaml.CSafeDumper, sort_keys=False))

    return edit
