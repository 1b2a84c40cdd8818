"""Dataset commands: build, validate, export, card, show."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app
from behaviorbench.errors import BehaviorBenchError


@app.command()
def build(
    out: Annotated[Path, typer.Option("--out", help="Dataset directory to create.")],
    cases: Annotated[int | None, typer.Option("--cases", min=1, help="How many cases to generate.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Generation seed; same seed and index give the same case.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (default: CPU count).")
    ] = os.cpu_count() or 1,
    scenes: Annotated[
        int | None, typer.Option("--scenes", min=1, help="Scenes per case (generator default if unset).")
    ] = None,
    from_reports: Annotated[
        Path | None,
        typer.Option("--from-reports", help="JSONL of case reports to extract with --llm (see docs)."),
    ] = None,
    llm: Annotated[str, typer.Option("--llm", help="openai:MODEL for --from-reports.")] = "",
    base_url: Annotated[str | None, typer.Option("--base-url", help="Server URL for --llm.")] = None,
    naturalize: Annotated[
        bool,
        typer.Option(
            "--naturalize",
            help="--from-reports: the LLM rewrites each line; kept only if every fact survives.",
        ),
    ] = False,
) -> None:
    """Generate a dataset: sharded JSONL per split plus manifest.json."""
    if from_reports is not None:
        from behaviorbench.cli.importing import build_from_reports

        return build_from_reports(from_reports, llm, out, base_url, seed or 0, naturalize)
    if naturalize:
        raise BehaviorBenchError("--naturalize: only with --from-reports")
    if cases is None or seed is None:
        raise BehaviorBenchError(
            f"{'--cases' if cases is None else '--seed'}: required to generate a dataset"
        )
    from behaviorbench.dataset.build import build_dataset
    from behaviorbench.dataset.manifest import dataset_fingerprint

    started = time.perf_counter()
    manifest = build_dataset(out, cases, seed, workers=workers, scenes=scenes)
    wall = time.perf_counter() - started
    counts = manifest.counts
    splits = ", ".join(f"{split} {n:,}" for split, n in counts.splits.items())
    console = Console(highlight=False)
    console.print(
        f"built {out}: {counts.cases:,} cases ({splits}), {counts.designated_slots:,} designated and "
        f"{counts.ambient_slots:,} ambient slots in {len(manifest.shards)} shards, {wall:.1f} s "
        f"({counts.cases / wall:,.0f} cases/s); fingerprint {dataset_fingerprint(out)}",
        soft_wrap=True,
    )


@app.command()
def validate(path: Annotated[Path, typer.Argument(help="Dataset directory or a JSONL file.")]) -> None:
    """Check every line, shard hash, count and cross-reference; exit 1 if anything is wrong."""
    from behaviorbench.dataset.manifest import load_manifest
    from behaviorbench.dataset.validate import validate_dataset
    from behaviorbench.inputs import text_lines

    problems = validate_dataset(path, progress=True)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {path}", err=True)
        raise typer.Exit(1)
    if path.is_dir():
        manifest = load_manifest(path)
        summary = (
            f"{manifest.cases:,} cases, {manifest.counts.designated_slots:,} designated slots, "
            f"{len(manifest.shards)} shard{'s' if len(manifest.shards) != 1 else ''} match the manifest"
        )
    else:
        summary = f"{sum(1 for _ in text_lines(path)):,} cases"
    typer.echo(f"OK {path}: {summary}")


@app.command()
def export(
    path: Annotated[Path, typer.Argument(help="Dataset directory (or a JSONL file with --out).")],
    format: Annotated[str, typer.Option("--format", help="Export format: messages.")] = "messages",
    style: Annotated[str, typer.Option("--style", help="Assistant turns: token, tagged or plain.")] = "token",
    out: Annotated[
        Path | None, typer.Option("--out", help="One file for all splits (default: one per split).")
    ] = None,
) -> None:
    """Write chat `messages` JSONL for TRL / Axolotl / LLaMA-Factory."""
    from behaviorbench.dataset.export import FORMATS, export_messages
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output

    if format not in FORMATS:
        raise BehaviorBenchError(f"--format: unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if out is not None:
        refuse_input_as_output(out, [path, *dataset_inputs(path)])
    for file, count in export_messages(path, style, out, progress=True).items():
        typer.echo(f"wrote {file}: {count:,} cases")


@app.command()
def card(
    path: Annotated[Path, typer.Argument(help="Dataset directory.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Markdown file to write (default: DIR/CARD.md).")
    ] = None,
) -> None:
    """Write a markdown dataset card and print it."""
    from rich.markdown import Markdown

    from behaviorbench.dataset.atomic import atomic_write_text
    from behaviorbench.dataset.card import render_card
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output

    target = out or path / "CARD.md"
    refuse_input_as_output(target, [path, *dataset_inputs(path)])
    text = render_card(path)
    atomic_write_text(target, text)
    console = Console()
    console.print(Markdown(text))
    console.print(f"wrote {target}", highlight=False)


@app.command()
def show(
    path: Annotated[Path, typer.Argument(help="Dataset directory or a JSONL file.")],
    case: Annotated[str, typer.Option("--case", help="Case id.")],
    all_slots: Annotated[bool, typer.Option("--all-slots", help="Also mark ambient (silent) slots.")] = False,
) -> None:
    """Show one case as a drama with its slots and gold behaviors."""
    from behaviorbench.dataset.show import show_case

    show_case(path, case, all_slots=all_slots)
