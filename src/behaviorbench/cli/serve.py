"""`behaviorbench serve`: a local model behind an OpenAI-compatible HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.bind import check_bind_address
from behaviorbench.cli.app import app
from behaviorbench.cli.checks import device as device_name
from behaviorbench.cli.checks import finite
from behaviorbench.errors import BehaviorBenchError


@app.command()
def serve(
    model: Annotated[str, typer.Option("--model", help="Local model: hf:<folder or alias>.")],
    adapter: Annotated[str | None, typer.Option("--adapter", help="PEFT adapter folder to apply.")] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
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
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow binding to a non-loopback interface.")
    ] = False,
) -> None:
    """Serve GET /v1/models and POST /v1/chat/completions until interrupted."""
    check_bind_address(host, allow_remote)
    if not model.startswith("hf:"):
        raise BehaviorBenchError(f"--model '{model}': serve runs local models only (hf:<folder or alias>)")
    import uvicorn

    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    backend = HFBackend(
        model.removeprefix("hf:"), adapter=adapter, device=device, proactive_bias=proactive_bias
    )
    Console(highlight=False).print(f"serving {backend.model_id} at http://{host}:{port}/v1", soft_wrap=True)
    uvicorn.run(create_app(backend), host=host, port=port, log_level="warning")
