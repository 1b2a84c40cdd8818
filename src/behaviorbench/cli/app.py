"""The typer application every command module registers on."""

import typer

app = typer.Typer(
    name="behaviorbench",
    help="BehaviorBench: build the benchmark, evaluate models, train BehaviorSFT, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
