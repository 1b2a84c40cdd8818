"""The training loss curve as a PNG beside the weights: the first thing to look at after a run."""

from __future__ import annotations

import io
from pathlib import Path

from behaviorbench.dataset.atomic import atomic_write_bytes
from behaviorbench.training.run_card import LossPoint


def plot_losses(losses: list[LossPoint], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.5), dpi=110)
    axes.plot([p.step for p in losses], [p.loss for p in losses], color="#1f6feb", linewidth=1.4)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss (assistant turns)")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
