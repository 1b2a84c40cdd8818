"""Evaluation commands: eval (run a model on a split) and score (recompute a run's metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app
from behaviorbench.cli.checks import device as device_name
from behaviorbench.cli.checks import finite, positive
from behaviorbench.errors import BehaviorBenchError


@app.command("eval")
def evaluate(
    model: Annotated[
        str,
        typer.Option(
            "--model", help="hf:<folder or alias>, a local folder, 'smollm2-135m' or openai:<model>."
        ),
    ],
    data: Annotated[Path, typer.Option("--data", help="Dataset directory.")],
    split: Annotated[str, typer.Option("--split", help="Split to evaluate.")] = "test",
    protocol: Annotated[
        str, typer.Option("--protocol", help="token, tagged, instructed or free.")
    ] = "tagged",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate only the first N cases.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/<model>-<protocol>-<split>).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible server URL for openai: models.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key (openai: models).")
    ] = "OPENAI_API_KEY",
    judge: Annotated[
        str | None, typer.Option("--judge", help="Model that classifies replies' behavior (protocol free).")
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option("--judge-base-url", help="Server URL for an openai: judge.")
    ] = None,
    price: Annotated[
        str | None,
        typer.Option(
            "--price",
            help="IN/OUT dollars per million input/output tokens of an openai: model, e.g. 0.15/0.60: "
            "the cost estimate in results.json (default: the price table, else unknown).",
        ),
    ] = None,
    judge_price: Annotated[
        str | None, typer.Option("--judge-price", help="IN/OUT, the same for an openai: judge.")
    ] = None,
    proactive_bias: Annotated[
        float,
        typer.Option(
            "--proactive-bias", callback=finite, help="Added to the proactive logit (local models)."
        ),
    ] = 0.0,
    generate: Annotated[
        bool, typer.Option("--generate/--no-generate", help="Write responses (needed for content checks).")
    ] = True,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", callback=device_name, help="cpu, cuda, cuda:1 (local models; default: best)."
        ),
    ] = None,
    dtype: Annotated[
        str | None, typer.Option("--dtype", help="float32, bfloat16 or float16 (local models).")
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="Responses generated together (local models; 8)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Requests in flight (remote models).")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Generation and bootstrap seed.")] = 0,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Longest response, in tokens.")] = 96,
    multimodal: Annotated[
        bool, typer.Option("--multimodal", help="The openai: model accepts images (image_url parts).")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", callback=positive, help="Seconds per request (remote models)."),
    ] = 60.0,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries of a failed request (remote).")
    ] = 4,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=1, help="Bootstrap replicates for the CIs.")
    ] = 1000,
    allow_errors: Annotated[
        bool, typer.Option("--allow-errors", help="Exit 0 even if samples still failed after retries.")
    ] = False,
) -> None:
    """Evaluate a model on every slot of a split; resumes an interrupted run in the same --out."""
    from behaviorbench.evaluation.config import EvalConfig
    from behaviorbench.evaluation.results import read_results
    from behaviorbench.evaluation.runner import run_eval
    from behaviorbench.evaluation.usage import parse_price

    config = EvalConfig(
        model=model,
        data=data,
        split=split,
        protocol=protocol,
        limit=limit,
        seed=seed,
        max_tokens=max_tokens,
        generate=generate,
        proactive_bias=proactive_bias,
        bootstrap=bootstrap,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        base_url=base_url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        multimodal=multimodal,
        judge=judge,
        judge_base_url=judge_base_url,
        price=parse_price(price) if price is not None else None,
        judge_price=parse_price(judge_price, "--judge-price") if judge_price is not None else None,
    )
    if out is None:
        name = model.split(":", 1)[-1].rstrip("/").replace("/", "_").replace(":", "_")
        out = Path("runs") / f"{Path(name).name}-{protocol}-{split}"
    path = run_eval(config, out)
    Console(highlight=False).print(f"wrote {path}", soft_wrap=True)
    counts = read_results(path.parent).metrics.counts
    if counts.errored and not allow_errors:
        raise BehaviorBenchError(
            f"{path.parent}: {counts.errored} samples errored after retries; rerun the same command "
            "to retry them, or pass --allow-errors to accept them as misses"
        )


@app.command("score")
def score(
    run: Annotated[Path, typer.Argument(help="Run directory holding samples.jsonl.")],
    n_bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=1, help="Bootstrap replicates for the CIs.")
    ] = 1000,
) -> None:
    """Recompute every metric from samples.jsonl alone and rewrite results.json's metrics."""
    from behaviorbench.evaluation.results import RESULTS_FILE
    from behaviorbench.evaluation.runner import rescore
    from behaviorbench.evaluation.summary import print_summary

    results = rescore(run, n_bootstrap=n_bootstrap)
    console = Console(highlight=False)
    print_summary(
        console, results.metrics, f"{results.run.model} · {results.run.protocol} · {results.run.split}"
    )
    console.print(f"wrote {run / RESULTS_FILE}", soft_wrap=True)
