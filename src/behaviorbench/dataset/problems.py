"""Problems in a case line, each reported as one `file:line: field: message` line.

The reader raises the first problem; the validator collects them all. Both use the same checks so
a dataset that validates is exactly a dataset that loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from behaviorbench.schema import Case


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def parse_case(text: str, file: str, line: int) -> tuple[Case | None, list[Problem]]:
    """The case on one JSONL line, or None and every problem found in it."""
    try:
        return Case.model_validate_json(text), []
    except ValidationError:
        pass  # diagnosed below, slowly but completely
    return None, diagnose(text, file, line)


def diagnose(text: str, file: str, line: int) -> list[Problem]:
    """All problems of a line that does not load as a case."""

    def problem(field: str, message: str) -> Problem:
        return Problem(file, line, field, message)

    if not text.strip():
        return [problem("json", "empty line")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # A string running to the end of the line, or an error at its very end: the line was cut.
        if error.msg.startswith("Unterminated string") or error.pos >= len(text.rstrip()):
            return [problem("json", f"truncated line: the JSON ends early ({error.msg})")]
        return [problem("json", f"bad JSON: {error.msg} at column {error.colno}")]
    if not isinstance(data, dict):
        return [problem("json", f"expected a JSON object, got {type(data).__name__}")]

    problems = [problem(field, message) for field, message in _structure(data)]
    reported = {p.field for p in problems}
    try:
        Case.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            field = ".".join(str(part) for part in detail["loc"]) or "case"
            if field in reported or (field == "case" and problems):
                continue
            problems.append(problem(field, _describe(detail)))
            reported.add(field)
    return problems


def _structure(data: dict) -> list[tuple[str, str]]:
    """Slot indices and evidence against the utterances, named by field (pydantic cannot)."""
    utterances, slots = data.get("utterances"), data.get("slots")
    if not isinstance(utterances, list) or not isinstance(slots, list):
        return []
    found = []
    count = len(utterances)
    for position, slot in enumerate(slots):
        if not isinstance(slot, dict) or not _is_int(slot.get("index")):
            continue
        index = slot["index"]
        if not 0 <= index < count:
            found.append(
                (f"slots.{position}.index", f"{index} out of range: the case has {count} utterances")
            )
        elif index != position:
            found.append(
                (f"slots.{position}.index", f"is {index}, expected {position} (one slot per utterance)")
            )
        evidence = slot.get("evidence", [])
        for k, cited in enumerate(evidence if isinstance(evidence, list) else []):
            if _is_int(cited) and not 0 <= cited <= index:
                found.append((f"slots.{position}.evidence.{k}", f"utterance {cited} out of range 0..{index}"))
    if len(slots) != count:
        found.append(("slots", f"{len(slots)} slots for {count} utterances; need exactly one per utterance"))
    return found


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(detail: dict) -> str:
    kind, value = detail["type"], detail.get("input")
    if kind == "missing":
        return "missing field"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("enum", "literal_error"):
        return f"unknown value {value!r}; expected {detail['ctx']['expected']}"
    message = detail["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return f"wrong type: {message}, got {type(value).__name__} {shown}"
    return message
