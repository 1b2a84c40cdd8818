"""The script of a case before it becomes a `Case`: lines, the tasks hung on them, and scenes.

Tasks point at `Line` objects rather than indices, so scenes can be built independently and lines
moved (long-range evidence) before indices are fixed by `assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from behaviorbench.schema import Attachment, Slot, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category


def capitalized(text: str) -> str:
    """First letter up: lines and replies may start with a lower-case drug or analyte name."""
    return text[:1].upper() + text[1:]


@dataclass(eq=False)
class Line:
    """One utterance under construction."""

    role: str
    speaker: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(eq=False)
class Task:
    """A designated slot: after `slot`, the assistant should show `behavior`."""

    category: Category
    slot: Line
    behavior: Behavior
    response: str
    target: Target | None
    evidence: list[Line]
    positive: bool | None = None
    """For proactive categories: True if the problem is present, False for the control."""
    plant: Line | None = None
    """An evidence line that may move to the start of the case to put the evidence far back."""
    subtype: str = ""
    """The kind of problem within the category ("dose", "allergy", ...)."""
    reaction: Line | None = None
    """The team's answer to the assistant's flag (a positive only): said right after the slot, so
    the gold history shows the flag heard and acted on."""
    answer_with: str = ""
    """The reactions bank the team answers from when not the subtype's (a check drawn alongside a
    time-critical first dose is answered "draw it and give the dose", not "wait for it")."""


@dataclass
class Scene:
    lines: list[Line]
    tasks: list[Task]


@dataclass
class Script:
    opening: list[Line]
    scenes: list[Scene]


def assemble(
    script: Script, case_id: str, twin_id: str, long_range: bool, min_gap: int
) -> tuple[list[Utterance], list[Slot]]:
    """Fix the order of lines, move planted evidence far back when asked, put each flag's reaction
    after its slot, and emit utterances and slots.

    A planted line moves to the opening only if its task's slot ends up at least `min_gap`
    utterances after it; the decision depends on structure alone (reactions, which only a positive
    twin has, are not counted), so twins decide alike.
    """
    opening = list(script.opening)
    if long_range:
        _plant_far_back(script, opening, min_gap)
    reactions = {id(t.slot): t.reaction for scene in script.scenes for t in scene.tasks if t.reaction}
    lines = list(opening)
    for scene in script.scenes:
        for line in scene.lines:
            lines.append(line)
            if id(line) in reactions:
                lines.append(reactions[id(line)])
    index_of = {id(line): i for i, line in enumerate(lines)}
    tasks: dict[int, tuple[int, Task]] = {}
    number = 0
    for scene in script.scenes:
        for task in scene.tasks:
            number += 1
            tasks[index_of[id(task.slot)]] = (number, task)

    utterances = [
        Utterance(speaker=line.speaker, role=line.role, text=line.text, attachments=line.attachments)
        for line in lines
    ]
    slots = []
    for i in range(len(lines)):
        if i not in tasks:
            slots.append(Slot(index=i))
            continue
        number, task = tasks[i]
        slots.append(
            Slot(
                index=i,
                category=task.category,
                task_id=f"{case_id}:t{number:02d}",
                gold_behavior=task.behavior,
                gold_response=capitalized(task.response) if task.behavior is not Behavior.silent else "",
                target=task.target,
                evidence=sorted({index_of[id(line)] for line in task.evidence}),
                control_of=f"{twin_id}:t{number:02d}" if task.positive is False else None,
                subtype=task.subtype or None,
            )
        )
    return utterances, slots


def _plant_far_back(script: Script, opening: list[Line], min_gap: int) -> None:
    """Moving a plant from a scene to the end of the opening shifts only the lines between them,
    so every slot keeps its index and a plant's new index is the opening length so far. No later plant
    moves once an omission has been written: one that reports a result (a check done, a
    potassium) would complete the check that omission leaves undone."""
    start = len(opening)
    for scene in script.scenes:
        movers = []
        for task in scene.tasks:
            if task.plant is None:
                continue
            slot_index = start + scene.lines.index(task.slot)
            if slot_index - (len(opening) + len(movers)) >= min_gap:
                movers.append(task.plant)
        start += len(scene.lines)
        for plant in movers:
            scene.lines.remove(plant)
            opening.append(plant)
        if any(t.category is Category.omission_detection for t in scene.tasks):
            return
