"""Fixtures: a small dataset, three runs that behave differently on it, a study, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from review_fixtures import POLICIES, SYSTEM_MODELS, live_server, make_case, write_images, write_run

from behaviorbench.dataset.writer import write_dataset
from behaviorbench.review.study import create_study


@pytest.fixture
def review_runs(tmp_path: Path) -> tuple[Path, list[Path]]:
    """Twelve cases (36 designated slots over six categories) and one run per model."""
    data_dir = tmp_path / "data"
    cases = [make_case(i) for i in range(12)]
    write_dataset(data_dir, cases, generator_version="test", seed=3)
    write_images(data_dir, len(cases))
    runs = [write_run(tmp_path / f"run-{m}", m, data_dir, cases, POLICIES[m]) for m in SYSTEM_MODELS]
    return data_dir, runs


@pytest.fixture
def raters_file(tmp_path: Path) -> Path:
    path = tmp_path / "raters.yaml"
    path.write_text(
        "- {id: r1, name: Ada Clinician, email: ada@example.org}\n"
        "- {id: r2, name: Ben Clinician}\n"
        "- {id: r3, name: Cy Clinician}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def study(tmp_path: Path, review_runs, raters_file) -> tuple[Path, dict[str, str]]:
    """A 12-item study of the three runs, two raters per item; returns the db and rater id -> token."""
    _, runs = review_runs
    db = tmp_path / "study.db"
    summary = create_study(runs, raters_file, items=12, overlap=2, seed=5, out=db)
    return db, {rater.id: token for rater, token in summary.links}


@pytest.fixture
def server(study) -> Iterator[str]:
    db, _ = study
    with live_server(db) as url:
        yield url
