"""Fixtures of the evaluation tests: a small dataset, a tiny real model, a private response cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from evalcases import make_dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from behaviorbench.models.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch) -> Path:
    """Each test gets its own response cache, so no test sees another's replies."""
    monkeypatch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
