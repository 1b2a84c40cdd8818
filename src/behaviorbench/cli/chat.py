"""`behaviorbench chat`: talk to the agent as a care team and watch what it decides after every line."""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from behaviorbench.cli.app import app
from behaviorbench.cli.checks import finite
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation.roles import GENERATED_ROLES

LINE = re.compile(
    r"^\s*(?:(?P<speaker>[^:()]+?)\s*\((?P<named_role>\w+)\)|(?P<role>\w+))\s*:\s*(?P<text>.+)$"
)
"""`role: text` or `Speaker Name (role): text`."""

ROLES: tuple[str, ...] = GENERATED_ROLES

HELP = (
    "Type one line per utterance as `role: text` or `Name (role): text` "
    f"(roles: {', '.join(ROLES)}). A line without a prefix continues the last speaker. "
    "/reset starts a new conversation, /quit (or Ctrl-D) ends."
)

COLORS = {"reactive": "green", "proactive": "magenta", "silent": "bright_black"}


def parse_line(line: str, last: dict[str, str] | None) -> dict[str, str]:
    """One typed line as an utterance entry for `Agent.decide`."""
    match = LINE.match(line)
    if match is not None:
        role = (match["named_role"] or match["role"]).lower()
        if role not in ROLES:
            raise BehaviorBenchError(
                f"line {line.strip()!r}: unknown role {role!r}; use one of {', '.join(ROLES)}"
            )
        speaker = (match["speaker"] or role.title()).strip()
        return {"speaker": speaker, "role": role, "text": match["text"].strip()}
    if last is None:
        raise BehaviorBenchError(f"line {line.strip()!r}: start with `role: ` (one of {', '.join(ROLES)})")
    return {"speaker": last["speaker"], "role": last["role"], "text": line.strip()}


@app.command()
def chat(
    model: Annotated[
        str,
        typer.Option(
            "--model", help="Local model: hf:<folder or alias>, a model or adapter folder, 'smollm2-135m'."
        ),
    ],
    adapter: Annotated[
        str | None, typer.Option("--adapter", help="BehaviorSFT adapter over --model.")
    ] = None,
    proactivity: Annotated[
        float,
        typer.Option(
            "--proactivity", callback=finite, help="Bias on the proactive logit: >0 speaks up more."
        ),
    ] = 0.0,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Longest response.")] = 96,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="What the team calls the assistant (repeat for more names)."),
    ] = None,
) -> None:
    """Chat as the care team; after each line see the agent's behavior, probabilities and response."""
    from behaviorbench.agent import DEFAULT_NAMES, Agent

    console = Console(highlight=False)
    agent = Agent.load(
        model, adapter=adapter, proactivity=proactivity, max_tokens=max_tokens, names=name or DEFAULT_NAMES
    )
    console.print(
        f"[bold]{agent.backend.model_id}[/] as {', '.join(agent.names)} "
        f"(style {agent.style}, proactivity {proactivity:+g})"
    )
    console.print(HELP, style="dim", markup=False)
    conversation: list[dict[str, str]] = []
    last: dict[str, str] | None = None
    while True:
        try:
            line = console.input("[bold cyan]> [/]")
        except EOFError:
            break
        if not line.strip():
            continue
        if line.strip() in ("/quit", "/exit"):
            break
        if line.strip() == "/reset":
            conversation, last = [], None
            console.print("new conversation", style="dim")
            continue
        try:
            last = parse_line(line, last)
        except BehaviorBenchError as error:
            console.print(f"error: {error}", style="red", markup=False)
            continue
        conversation.append(last)
        turn = agent.decide(conversation)
        shares = "  ".join(f"{b.value} {p:.2f}" for b, p in turn.probabilities.items())
        color = COLORS[turn.behavior.value]
        console.print(f"  [{color} bold]{turn.behavior.value}[/]  [dim]{shares}[/]")
        if turn.response:
            console.print(Text.assemble(("  assistant: ", color), turn.response))
        conversation.append(turn.as_message())
