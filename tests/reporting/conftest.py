from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from run_factory import make_dataset, simulate, write_run

from behaviorbench.cli import main
from behaviorbench.dataset.reader import load_cases


@pytest.fixture(scope="package")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("reporting") / "data", pairs=24)


@pytest.fixture(scope="package")
def runs(data_dir: Path) -> dict[str, Path]:
    """Two test runs (one with probabilities, one without and with invalid replies) and a dev run."""
    root = data_dir.parent / "runs"
    test, dev = load_cases(data_dir, "test"), load_cases(data_dir, "dev")
    return {
        "sft": write_run(root / "sft", simulate(test, 2.0, -0.8, seed=1), "behaviorsft", "test", data_dir),
        "zero": write_run(
            root / "zero",
            simulate(test, 0.8, 0.5, seed=2, probabilities=False, invalid=0.05),
            "zero-shot",
            "test",
            data_dir,
        ),
        "sft-dev": write_run(
            root / "sft-dev", simulate(dev, 2.0, -0.8, seed=3), "behaviorsft", "dev", data_dir
        ),
    }


@pytest.fixture
def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> Callable[..., tuple[int, str]]:
    """Run the real entry point in-process: (exit code, stderr)."""

    def invoke(*args: object) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["behaviorbench", *map(str, args)])
        with pytest.raises(SystemExit) as exit:
            main()
        return exit.value.code, capsys.readouterr().err

    return invoke
