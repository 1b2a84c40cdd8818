"""Show one case as a drama in the terminal, with every designated slot and its gold marked."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from behaviorbench.dataset.reader import find_case
from behaviorbench.schema import Case, ImageAttachment, Slot, TableAttachment, Utterance
from behaviorbench.taxonomy import BEHAVIOR_TOKENS, GROUP_OF, Behavior

ROLE_STYLES = {
    "attending": "bold blue",
    "resident": "cyan",
    "intern": "bright_cyan",
    "student": "bright_cyan",
    "nurse": "green",
    "pharmacist": "magenta",
    "radiologist": "bright_blue",
    "consultant": "blue",
    "patient": "yellow",
    "family": "bright_yellow",
}
BEHAVIOR_STYLES = {Behavior.reactive: "green", Behavior.proactive: "red", Behavior.silent: "yellow"}
INDENT = 5


def show_case(source: Path, case_id: str, all_slots: bool = False, console: Console | None = None) -> Case:
    """Print the case; ambient slots appear as a faint 'silent' line only with `all_slots`."""
    console = console or Console()
    case = find_case(Path(source), case_id)
    console.print(Rule(f"[bold]{case.case_id}[/] · {case.split} · {case.setting}"))
    console.print(_header(case))
    for utterance, slot in zip(case.utterances, case.slots, strict=True):
        console.print(_utterance(slot.index, utterance))
        for attachment in utterance.attachments:
            console.print(Padding(_attachment(attachment), (0, 0, 0, INDENT)))
        if slot.designated:
            console.print(Padding(_designated(slot), (0, 0, 0, INDENT)))
        elif all_slots:
            console.print(Text(" " * INDENT + "· silent", style="dim"))
    hidden = "" if all_slots else "; ambient slots hidden, --all-slots shows them"
    console.print(Rule(f"{len(case.slots)} slots, {len(case.designated)} designated{hidden}", style="dim"))
    return case


def _header(case: Case) -> Text:
    knobs = ", ".join(knob for knob, on in case.difficulty.items() if on) or "none"
    facts = ", ".join(
        f"{key}: {value}" for key, value in case.patient.items() if not isinstance(value, (dict, list))
    )
    return Text.assemble(
        ("patient ", "bold"),
        facts or "-",
        "\n",
        ("difficulty ", "bold"),
        knobs,
        "  ",
        ("generator ", "bold"),
        f"{case.version} (seed {case.seed})",
    )


def _utterance(index: int, utterance: Utterance) -> Table:
    """Index in a gutter so long utterances wrap under their own text."""
    style = ROLE_STYLES.get(utterance.role, "bold")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=INDENT - 2, justify="right", style="dim")
    grid.add_column()
    speaker = Text.assemble((utterance.speaker, style), (f" ({utterance.role})", "dim"), ": ", utterance.text)
    grid.add_row(str(index), speaker)
    return grid


def _attachment(attachment: TableAttachment | ImageAttachment) -> Table | Text:
    if isinstance(attachment, ImageAttachment):
        truth = ", ".join(f"{key}={value}" for key, value in attachment.truth.items())
        return Text.assemble(
            ("[image] ", "bold magenta"),
            attachment.title,
            (f"  {attachment.path}", "dim"),
            f"  truth: {truth}",
        )
    table = Table(title=attachment.title, title_justify="left", show_edge=False, header_style="bold")
    for column in attachment.columns:
        table.add_column(column)
    for row in attachment.rows:
        table.add_row(*row)
    return table


def _designated(slot: Slot) -> Panel:
    style = BEHAVIOR_STYLES[slot.gold_behavior]
    lines = [Text.assemble((BEHAVIOR_TOKENS[slot.gold_behavior], f"bold {style}"), " ", slot.gold_response)]
    details = []
    if slot.target is not None:
        answer = ", ".join(slot.target.answers)
        if slot.target.value is not None:
            answer = f"{slot.target.value:g} {slot.target.unit or ''}".strip()
        details.append(f"target ({slot.target.kind}): {answer}")
    if slot.evidence:
        details.append(f"evidence: utterances {', '.join(map(str, slot.evidence))}")
    if slot.control_of:
        details.append(f"control of {slot.control_of}")
    if details:
        lines.append(Text("  ·  ".join(details), style="dim"))
    title = f"slot {slot.index} · {slot.category.value} ({GROUP_OF[slot.category].value}) · {slot.task_id}"
    return Panel(Group(*lines), title=title, title_align="left", border_style=style, expand=False)
