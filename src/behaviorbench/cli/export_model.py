"""`behaviorbench export-model --merge`: a trained folder as a standalone transformers model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from behaviorbench.cli.app import app
from behaviorbench.errors import BehaviorBenchError


@app.command("export-model")
def export_model(
    model: Annotated[
        str,
        typer.Argument(help="Local model: hf:<folder or alias>, a model or adapter folder, 'smollm2-135m'."),
    ],
    out: Annotated[Path, typer.Argument(help="New folder for the standalone model.")],
    merge: Annotated[
        bool, typer.Option("--merge", help="Merge the adapter into its base (the one export there is).")
    ] = False,
    dtype: Annotated[
        str | None, typer.Option("--dtype", help="float32 (default), bfloat16 or float16 weights.")
    ] = None,
) -> None:
    """Write MODEL merged into OUT: loads with AutoModelForCausalLM, vLLM or llama.cpp's converter."""
    from behaviorbench.models import local_model
    from behaviorbench.models.export import export_merged

    if not merge:
        raise BehaviorBenchError(
            "export-model: pass --merge (the export writes the adapter merged into its base)"
        )
    path = export_merged(local_model(model, "MODEL"), out, dtype)
    Console(highlight=False).print(f"wrote {path}: a standalone transformers model", soft_wrap=True)
