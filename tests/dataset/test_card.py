from __future__ import annotations

from pathlib import Path

from behaviorbench.dataset.card import render_card


def test_card_reports_counts_and_one_example_per_present_category(dataset_dir: Path):
    card = render_card(dataset_dir)
    assert "| train | 8 | 16 |" in card
    assert "| `error_correction` | proactive | 20 | 10 | 10 | 50.0 |" in card
    assert "| `ddx_reasoning` | reactive | 0 | 0 | 0 | 0.0 |" in card
    assert "| `distractor` | 5 |" in card
    assert card.count("\n### `") == 2
    example = card[card.index("### `error_correction`") :]
    assert "Weight is 700 kg" in example  # the positive, not the control
    assert "**Gold:** `<|proactive|>` A weight of 700 kg" in example
