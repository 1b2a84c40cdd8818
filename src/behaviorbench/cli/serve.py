"""`behaviorbench serve`: a local model as an agent behind an OpenAI-compatible HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.bind import check_bind_address
from behaviorbench.cli.app import app
from behaviorbench.cli.checks import device as device_name
from behaviorbench.cli.checks import finite
from behaviorbench.errors import BehaviorBenchError

AGENT_STYLES = ("token", "tagged", "instructed")


@app.command()
def serve(
    model: Annotated[
        str, typer.Option("--model", help="Local model: hf:<folder or alias>, a folder or 'smollm2-135m'.")
    ],
    adapter: Annotated[str | None, typer.Option("--adapter", help="PEFT adapter folder to apply.")] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="What the team calls the assistant (repeat for more names)."),
    ] = None,
    style: Annotated[
        str | None,
        typer.Option(
            "--style", help="token, tagged or instructed (default: token if the model has behavior tokens)."
        ),
    ] = None,
    proactive_bias: Annotated[
        float,
        typer.Option(
            "--proactive-bias",
            callback=finite,
            help="Added to the proactive mark's logit (proactivity dial).",
        ),
    ] = 0.0,
    device: Annotated[
        str | None, typer.Option("--device", callback=device_name, help="cpu, cuda, cuda:1 (default: best).")
    ] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help="float32, bfloat16 or float16.")] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow binding to a non-loopback interface.")
    ] = False,
) -> None:
    """Serve GET /v1/models and POST /v1/chat/completions (streaming too) until interrupted."""
    from behaviorbench.agent import DEFAULT_NAMES
    from behaviorbench.models import local_model

    check_bind_address(host, allow_remote)
    path = local_model(model)
    if style is not None and style not in AGENT_STYLES:
        raise BehaviorBenchError(f"--style '{style}': choose one of {', '.join(AGENT_STYLES)}")
    names = [n.strip() for n in name or DEFAULT_NAMES]
    if not all(names):
        raise BehaviorBenchError("--name: a name cannot be empty")
    import uvicorn

    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    backend = HFBackend(path, adapter=adapter, device=device, dtype=dtype)
    chosen = style or backend.agent_style
    server = create_app(backend, chosen, names, proactive_bias)
    Console(highlight=False).print(
        f"serving {backend.model_id} as {', '.join(names)} ({chosen} turns, proactive bias "
        f"{proactive_bias:+g}) at http://{host}:{port}/v1",
        soft_wrap=True,
    )
    uvicorn.run(server, host=host, port=port, log_level="warning")
