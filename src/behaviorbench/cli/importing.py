"""Import commands: hand-written conversations or annotated notes into a dataset; MEDEC's flag accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app
from behaviorbench.errors import BehaviorBenchError

FORMATS = ("conversations", "medec")


@app.command("import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="YAML/JSON/JSONL files or folders (conversations), or one MEDEC CSV.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to create (must be new or empty).")],
    split: Annotated[str, typer.Option("--split", help="Split every imported case goes to.")] = "test",
    format: Annotated[
        str, typer.Option("--format", help="conversations (docs/import-format.md) or medec (MEDEC CSV).")
    ] = "conversations",
    sample: Annotated[
        int | None, typer.Option("--sample", help="medec: import only N notes drawn at random (by --seed).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --sample.")] = 0,
) -> None:
    """Turn your own material into a dataset that validate, card, eval and report read like a build."""
    from behaviorbench.importing import check_out, read_conversations, read_medec, write_imported
    from behaviorbench.importing.convert import VERSION
    from behaviorbench.importing.medec import VERSION as MEDEC_VERSION
    from behaviorbench.schema import SPLITS

    if format not in FORMATS:
        raise BehaviorBenchError(f"--format: unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if split not in SPLITS:
        raise BehaviorBenchError(f"--split: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    check_out(out)
    if format == "medec":
        if len(paths) != 1:
            raise BehaviorBenchError(f"--format medec: give one CSV file, got {len(paths)} paths")
        if not paths[0].is_file():
            raise BehaviorBenchError(f"{paths[0]}: no such CSV file")
        cases, problems = read_medec(paths[0], split, sample=sample, seed=seed)
        version = MEDEC_VERSION
    else:
        if sample is not None:
            raise BehaviorBenchError("--sample: only for --format medec; list the files to import instead")
        cases, problems = read_conversations(paths, split)
        version = VERSION
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing written", err=True)
        raise typer.Exit(1)
    manifest = write_imported(out, cases, version)
    counts = manifest.counts
    Console(highlight=False).print(
        f"imported {counts.cases:,} cases into {out} (split {split}): {counts.designated_slots:,} designated "
        f"and {counts.ambient_slots:,} ambient slots",
        soft_wrap=True,
    )


@app.command("flag-accuracy")
def flag_accuracy_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders of `eval` on an imported MEDEC dataset.")],
) -> None:
    """MEDEC's error-flag accuracy: did the assistant flag (proactive) exactly the notes with an error?"""
    from behaviorbench.evaluation.results import read_results
    from behaviorbench.importing.flags import flag_accuracy

    console = Console(highlight=False)
    for run in runs:
        result, figures = read_results(run), flag_accuracy(run)
        console.print(
            f"{run}: {result.run.model} · {result.run.protocol}: error-flag accuracy {figures.accuracy:.3f} "
            f"(95% CI {figures.low:.3f}-{figures.high:.3f}) on {figures.notes} notes; "
            f"caught {figures.caught}, missed {figures.missed}, false flags {figures.false_flags}, "
            f"quiet on correct notes {figures.quiet}, unreadable {figures.unreadable}",
            soft_wrap=True,
        )


def build_from_reports(
    reports: Path, llm: str, out: Path, base_url: str | None, seed: int, naturalize: bool
) -> None:
    """`build --from-reports`: facts extracted by an LLM, a twin pair of cases written around each."""
    from behaviorbench.importing.from_reports import SUMMARY, ReportsBuild
    from behaviorbench.importing.from_reports import build_from_reports as build

    if not reports.is_file():
        raise BehaviorBenchError(f"--from-reports: {reports}: no such file")
    if not llm:
        raise BehaviorBenchError("--llm: required with --from-reports (openai:MODEL)")
    result = build(ReportsBuild(reports, llm, out, base_url=base_url, seed=seed, naturalize=naturalize))
    console = Console(highlight=False)
    for drama in result.dramas:
        if drama.unmatched:
            console.print(
                f"{drama.report_id}: not in the knowledge base: {'; '.join(drama.unmatched)}", soft_wrap=True
            )
        if drama.not_used:
            console.print(f"{drama.report_id}: not used: {'; '.join(drama.not_used)}", soft_wrap=True)
        if drama.error:
            typer.echo(f"error: report {drama.report_id}: {drama.error}", err=True)
    for failure in result.failures:
        typer.echo(f"error: {failure}", err=True)
    console.print(
        f"{result.extracted} report{'s' if result.extracted != 1 else ''} extracted this run, "
        f"{len(result.failures)} failed (rerun to retry them)",
        soft_wrap=True,
    )
    if result.naturalized:
        figures = result.naturalized
        reasons = ", ".join(f"{kind} {n}" for kind, n in figures.rejected.most_common(4))
        console.print(
            f"naturalize: {figures.rewritten} of {figures.utterances} utterances rewritten "
            f"({figures.rate:.1%}) from {figures.asked} distinct lines; "
            f"kept as templates: {reasons or 'none'}",
            soft_wrap=True,
        )
    if result.manifest is not None:
        counts = result.manifest.counts
        console.print(
            f"wrote {out}: {counts.cases} cases from {counts.cases // 2} "
            f"report{'s' if counts.cases > 2 else ''}, {counts.designated_slots} designated and "
            f"{counts.ambient_slots} ambient slots; summary in {out / SUMMARY}",
            soft_wrap=True,
        )
    else:
        console.print(f"no case written; summary in {out / SUMMARY}", soft_wrap=True)
    if result.failures or any(drama.error for drama in result.dramas):
        raise typer.Exit(1)
