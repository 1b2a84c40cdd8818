"""The README.md model card of a trained folder: what the model is, what it was trained on and how,
how to load it, and the evaluation figures once runs of it exist.

The trainer writes it when a run finishes; whoever evaluates the model (the demo) writes it again
with the runs, so the card never states a figure that was not measured on this very folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.evaluation.results import RunResults
from behaviorbench.inputs import read_text
from behaviorbench.models.smollm2 import ALIAS, HUB_ID
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, BEHAVIORS
from behaviorbench.training.run_card import RunCard

MODEL_CARD = "README.md"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def evaluation_rows(runs: Sequence[RunResults]) -> list[dict]:
    """One row per run: its setting and figures in percent, per-class F1 beside the macro average."""
    rows = []
    for run in runs:
        metrics = run.metrics
        rows.append(
            {
                "split": run.run.split,
                "protocol": run.run.protocol,
                "fingerprint": run.run.dataset_fingerprint,
                "designated": metrics.counts.designated,
                "ambient": metrics.counts.ambient,
                "macro_f1": _percent(metrics.macro_f1),
                "class_f1": {
                    b.value: _percent(metrics.per_class[b.value].f1) if b.value in metrics.per_class else "—"
                    for b in BEHAVIORS
                },
                "proactive_recall": _percent(
                    metrics.per_class["proactive"].recall if "proactive" in metrics.per_class else None
                ),
                "false_alarm_rate": _percent(metrics.false_alarm_rate),
                "proactive_auc": _percent(metrics.proactive_auc),
                "content_accuracy": _percent(metrics.content_accuracy),
                "proactive_bias": run.run.proactive_bias,
                "finished": run.timings.finished if run.timings else "unknown",
            }
        )
    return rows


def render_model_card(
    card: RunCard,
    runs: Sequence[RunResults] = (),
    name: str = "this folder",
    merged: bool = False,
    base_by_alias: bool = False,
) -> str:
    """The card's markdown; `merged`: the folder holds the adapter merged into its base;
    `base_by_alias`: its adapter_config names the base by the alias (a packaged reference agent)."""
    environment = Environment(
        loader=PackageLoader("behaviorbench.training", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    first, last = (card.losses[0].loss, card.losses[-1].loss) if card.losses else (None, None)
    return environment.get_template("model_card.md.j2").render(
        card=card,
        name=name,
        tokens=[BEHAVIOR_TOKENS[b] for b in BEHAVIORS],
        first_loss=first,
        last_loss=last,
        runs=evaluation_rows(runs),
        hub_base=HUB_ID if card.base_model == ALIAS else None,
        behaviors=[b.value for b in BEHAVIORS],
        merged=merged,
        base_by_alias=base_by_alias,
    )


def write_model_card(
    directory: Path,
    card: RunCard,
    runs: Sequence[RunResults] = (),
    merged: bool = False,
    name: str | None = None,
) -> Path:
    """Write README.md into the model folder `directory` (atomically) and return its path."""
    path = Path(directory) / MODEL_CARD
    adapter_config = Path(directory) / "adapter_config.json"
    base_by_alias = (
        adapter_config.is_file() and json.loads(read_text(adapter_config))["base_model_name_or_path"] == ALIAS
    )
    text = render_model_card(card, runs, name or Path(directory).name, merged, base_by_alias)
    atomic_write_text(path, text)
    return path
