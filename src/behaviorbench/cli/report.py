"""Run comparison commands: report, calibrate (the proactivity dial) and hard (BehaviorBench-Hard)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from behaviorbench.cli.app import app
from behaviorbench.cli.checks import positive


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run directories (samples.jsonl + results.json).")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")] = Path("report.html"),
    format: Annotated[
        str, typer.Option("--format", help="html (self-contained page) or md (summary).")
    ] = "html",
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Dataset the runs scored (default: data_dir in results.json)."),
    ] = None,
    examples: Annotated[
        int, typer.Option("--examples", min=0, help="How many disagreement examples to show.")
    ] = 8,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=1, help="Bootstrap replicates for the intervals.")
    ] = 1000,
    calibration: Annotated[
        list[Path] | None,
        typer.Option(
            "--calibration", help="A `calibrate` output folder: adds its run's row at the chosen dial."
        ),
    ] = None,
    price: Annotated[
        list[str] | None,
        typer.Option(
            "--price",
            help="MODEL=IN/OUT: dollars per million input/output tokens of an API model, e.g. "
            "openai:qwen=0.2/0.6 (over the price table).",
        ),
    ] = None,
) -> None:
    """Compare runs of one dataset in a single HTML page (plus a sample browser per run) or in markdown."""
    from behaviorbench.errors import BehaviorBenchError
    from behaviorbench.evaluation.usage import parse_price
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output, run_inputs
    from behaviorbench.reporting.report import load_report, write_report

    inputs = [path for run in runs for path in (run, *run_inputs(run))]
    calibration_inputs = [path for run in calibration or [] for path in (run, *run_inputs(run))]
    data_inputs = [data, *dataset_inputs(data)] if data is not None else []
    refuse_input_as_output(out, [*inputs, *calibration_inputs, *data_inputs])
    prices = {}
    for item in price or []:
        model, sep, value = item.rpartition("=")
        if not sep or not model:
            raise BehaviorBenchError(
                f"--price {item!r}: expected MODEL=IN/OUT, e.g. openai:gpt-4o-mini=0.15/0.60"
            )
        prices[model] = parse_price(value)
    loaded = load_report(
        runs,
        data=data,
        examples=examples,
        n_bootstrap=bootstrap,
        calibrations=calibration or [],
        prices=prices,
    )
    written = write_report(loaded, out, format)
    typer.echo(f"wrote {out} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
    for page in written[1:]:
        typer.echo(f"wrote {page} (every designated sample, filterable)")


@app.command()
def calibrate(
    run: Annotated[Path, typer.Argument(help="Run to report at the chosen bias (usually on test).")],
    dev: Annotated[
        Path, typer.Option("--dev", help="Run of the same model on dev: the bias is chosen here.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for calibration.json and the plots.")] = Path(
        "calibration"
    ),
    limit: Annotated[
        float, typer.Option("--limit", callback=positive, help="Sweep biases from -LIMIT to +LIMIT.")
    ] = 5.0,
    step: Annotated[float, typer.Option("--step", callback=positive, help="Grid step of the sweep.")] = 0.25,
) -> None:
    """Choose the proactive bias that maximises dev Macro-F1 and score RUN at it.

    Pass the chosen bias to `eval`/`serve` as --proactive-bias, or as `proactivity` to the Agent API.
    """
    from behaviorbench.outputs import refuse_input_as_output, run_inputs
    from behaviorbench.reporting.calibration import write_calibration

    refuse_input_as_output(out, [path for folder in (run, dev) for path in (folder, *run_inputs(folder))])
    result = write_calibration(run, dev, out, limit=limit, step=step)
    zero, chosen = result.test_at_zero, result.test_at_chosen
    from behaviorbench.evaluation.summary import percent

    typer.echo(
        f"chosen proactive bias: {result.chosen_bias:+g} "
        f"(dev Macro-F1 {percent(result.dev_at_chosen.macro_f1)}%)"
    )
    typer.echo(
        f"{result.test_run} (in %): Macro-F1 {percent(zero.macro_f1)} -> {percent(chosen.macro_f1)}, "
        f"proactive recall {percent(zero.proactive_recall)} -> {percent(chosen.proactive_recall)}, "
        f"false alarms {percent(zero.false_alarm_rate)} -> {percent(chosen.false_alarm_rate)}"
    )
    typer.echo(f"wrote {out}")


@app.command()
def hard(
    data: Annotated[Path, typer.Option("--data", help="Dataset the runs scored.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the hard subset.")],
    runs: Annotated[
        list[Path] | None, typer.Argument(help="Reference run directories (or give each with --runs).")
    ] = None,
    runs_option: Annotated[
        list[Path] | None, typer.Option("--runs", help="A reference run directory; repeat for several.")
    ] = None,
    min_wrong: Annotated[
        int | None,
        typer.Option("--min-wrong", min=1, help="Runs that must miss a task (default: a majority)."),
    ] = None,
    knob: Annotated[
        list[str] | None,
        typer.Option("--knob", help="Difficulty knob counted for hard-by-construction cases (default: all)."),
    ] = None,
    min_knobs: Annotated[
        int | None,
        typer.Option(
            "--min-knobs", min=0, help="Knobs a case needs on to be hard by construction (default 2; 0: off)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier hard subset in --out.")] = False,
) -> None:
    """Write BehaviorBench-Hard: tasks reference runs miss, plus hard-by-construction cases, twins kept."""
    from behaviorbench.errors import BehaviorBenchError
    from behaviorbench.generation.case import KNOBS
    from behaviorbench.outputs import dataset_inputs, refuse_input_as_output, run_inputs
    from behaviorbench.reporting.hard import build_hard

    references = [*(runs_option or []), *(runs or [])]
    if not references:
        raise BehaviorBenchError("--runs: give at least one reference run directory")
    inputs = [path for run in references for path in (run, *run_inputs(run))]
    refuse_input_as_output(out, [*inputs, data, *dataset_inputs(data)])
    selection = build_hard(
        references, data, out, min_wrong=min_wrong, knobs=knob or KNOBS, min_knobs=min_knobs, force=force
    )
    counts = selection.counts
    typer.echo(
        f"wrote {out}: {counts.cases:,} cases, {counts.designated_slots:,} designated slots "
        f"({counts.tasks_wrong:,} tasks missed by >= {selection.min_wrong} runs)"
    )
