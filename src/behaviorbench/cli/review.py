"""Blind clinician review: create a study from runs, serve the rating app, analyse the answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app

review = typer.Typer(help="Blind pairwise review of assistant turns by clinicians.", no_args_is_help=True)
app.add_typer(review, name="review")

DEFAULT_PORT = 8765


@review.command("create")
def create(
    runs: Annotated[
        list[Path], typer.Option("--runs", help="Two or more run directories on the same dataset.")
    ],
    raters: Annotated[Path, typer.Option("--raters", help="YAML or CSV with id, name, optional email.")],
    items: Annotated[int, typer.Option("--items", min=1, help="Number of slots to compare.")],
    out: Annotated[Path, typer.Option("--out", help="The study database to create (SQLite).")],
    more_runs: Annotated[list[Path] | None, typer.Argument(hidden=True, help="Runs after --runs A.")] = None,
    overlap: Annotated[int, typer.Option("--overlap", min=1, help="Raters per item.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the selection, pairing and assignment.")] = 0,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset directory, if not where the runs say.")
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port written into the printed links.")
    ] = DEFAULT_PORT,
) -> None:
    """Create a study and print each rater's secret link (shown once: only a hash is stored)."""
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output, run_inputs
    from behaviorbench.review.study import create_study

    # `--runs A B C` reads as --runs A plus the positional B C: both spellings are accepted.
    compared = [*runs, *(more_runs or [])]
    inputs = [raters, *(path for run in compared for path in (run, *run_inputs(run)))]
    refuse_input_as_output(out, [*inputs, *([data, *dataset_inputs(data)] if data is not None else [])])
    summary = create_study(compared, raters, items, overlap, seed, out, data)
    console = Console(highlight=False)
    console.print(
        f"{out}: {summary.items} items, {summary.assignments} assignments, {len(summary.links)} raters"
    )
    console.print("Secret links (send each rater theirs; they are not stored and cannot be shown again):")
    for rater, token in summary.links:
        typer.echo(f"{rater.id}\t{rater.name}\thttp://127.0.0.1:{port}/r/{token}")


@review.command("serve")
def serve(
    study: Annotated[Path, typer.Argument(help="The study database.")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; loopback unless --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = DEFAULT_PORT,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host.")
    ] = False,
) -> None:
    """Serve the rating app for a study."""
    import uvicorn

    from behaviorbench.bind import check_bind_address
    from behaviorbench.review.server import create_app

    check_bind_address(host, allow_remote)
    # Keep idle connections longer than clients do (httpx and browsers expire theirs after about
    # 5 s): equal timeouts race, and a POST sent on a connection the server is closing is lost.
    uvicorn.run(
        create_app(study), host=host, port=port, log_level="warning", access_log=False, timeout_keep_alive=30
    )


@review.command("results")
def results(
    study: Annotated[Path, typer.Argument(help="The study database.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for results.json, CSVs and figures.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=1, help="Item resamples for the Bradley-Terry intervals.")
    ] = 1000,
) -> None:
    """Win/tie/loss per pair, Bradley–Terry strengths, ratings and agreement."""
    from rich.table import Table

    from behaviorbench.outputs import refuse_input_as_output
    from behaviorbench.review.results import analyse

    out = out if out is not None else study.with_suffix("").with_name(study.stem + "-results")
    refuse_input_as_output(out, [study])
    summary = analyse(study, out, resamples=bootstrap)
    console = Console(highlight=False)
    table = Table(
        title=f"{summary['answers']} answers on {summary['items']} items by {summary['raters']} raters"
    )
    for column in ("pair", "n", "win", "tie", "loss", "win 95% CI"):
        table.add_column(column)
    for row in summary["pairwise"]:
        if row["scope"] == "all":
            table.add_row(
                f"{row['system_1']} vs {row['system_2']}",
                str(row["n"]),
                f"{row['win_rate']:.2f}",
                f"{row['tie_rate']:.2f}",
                f"{row['loss_rate']:.2f}",
                f"{row['win_low']:.2f}-{row['win_high']:.2f}",
            )
    console.print(table)
    for row in summary["bradley_terry"]:
        console.print(
            f"Bradley-Terry {row['system']}: {row['strength']:+.2f} ({row['low']:+.2f} to {row['high']:+.2f})"
        )
    for row in summary["agreement"]:
        console.print(f"{row['measure']} ({row['of']}): {row['value']:.3f}")
    console.print(f"written to {out}")
