from __future__ import annotations

from pathlib import Path

import pytest
from sample_cases import make_cases

from behaviorbench.dataset.writer import write_dataset


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    """Twenty cases in shards of three, so every split spans several shards."""
    out = tmp_path / "data"
    write_dataset(out, make_cases(20), generator_version="test", seed=7, shard_size=3)
    return out
