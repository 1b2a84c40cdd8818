from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from behaviorbench.dataset.show import show_case
from behaviorbench.errors import BehaviorBenchError


def render(dataset_dir: Path, case_id: str, all_slots: bool) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    show_case(dataset_dir, case_id, all_slots=all_slots, console=console)
    return console.export_text()


def test_show_marks_designated_slots_and_optionally_ambient_ones(dataset_dir: Path):
    text = render(dataset_dir, "case-00005", all_slots=False)
    assert "slot 3 · error_correction (proactive)" in text
    assert "control of case-00004-t3" in text
    assert "<|silent|>" in text and "<|reactive|> Potassium is high" in text
    assert "truth: rhythm=atrial fibrillation" in text
    assert "potassium │ 5.9" in text
    assert "· silent" not in text
    assert render(dataset_dir, "case-00005", all_slots=True).count("· silent") == 3


def test_unknown_case_is_a_one_line_error(dataset_dir: Path):
    with pytest.raises(BehaviorBenchError, match="no case with id 'case-99999' among 20 cases"):
        show_case(dataset_dir, "case-99999")
