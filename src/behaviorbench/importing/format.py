"""The hand-written conversation format: what a clinician writes, before it becomes a `Case`.

Only what a person decides is asked for: who said what, and the few moments where the assistant
must answer, speak up or stay silent. Slot bookkeeping (one slot per utterance, task ids, ambient
silence, gold responses, content targets) is derived in `behaviorbench.importing.convert`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from behaviorbench.taxonomy import Behavior, Category

FORMAT_VERSION = "1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: object) -> object:
    """A single string stands for a one-item list: `assistant_names: Atlas`, `target: pneumonia`."""
    return [value] if isinstance(value, str) else value


class TableIn(_Strict):
    """A table shown with an utterance (a lab panel, a medication list); cells may be numbers."""

    title: str = Field(min_length=1)
    columns: list[str] = Field(min_length=1)
    rows: list[list[str]] = Field(min_length=1)

    @field_validator("rows", mode="before")
    @classmethod
    def _numbers_as_text(cls, rows: object) -> object:
        """`4.1` in YAML is a float; a table cell is shown as written, so it becomes text."""
        if not isinstance(rows, list):
            return rows
        return [
            [
                str(cell) if isinstance(cell, int | float) and not isinstance(cell, bool) else cell
                for cell in row
            ]
            if isinstance(row, list)
            else row
            for row in rows
        ]

    @field_validator("rows")
    @classmethod
    def _rows_match_columns(cls, rows: list[list[str]], info) -> list[list[str]]:
        columns = info.data.get("columns")
        if columns:
            for number, row in enumerate(rows):
                if len(row) != len(columns):
                    raise ValueError(f"row {number} has {len(row)} cells for {len(columns)} columns")
        return rows


class UtteranceIn(_Strict):
    speaker: str = Field(min_length=1)
    role: str = Field(min_length=1)
    """Free text: "fellow", "charge nurse", "paramedic" …"""
    text: str = Field(min_length=1)
    table: TableIn | None = None


class SlotIn(_Strict):
    """A designated moment: the assistant's turn right after utterance `after`."""

    after: int = Field(ge=0)
    category: Category
    gold: Behavior
    target: list[str] = []
    """Accepted strings for the content check; their meaning depends on the category."""
    why: str | None = None
    """The gold response when the assistant speaks; a note for readers when it is silent."""
    pair: str | None = None
    """The case_id of the minimal-pair twin: the same scene with the problem present or absent."""
    evidence: list[int] = []
    """Utterances that justify the gold behavior (optional)."""

    _target_list = field_validator("target", mode="before")(_as_list)

    @field_validator("target")
    @classmethod
    def _no_blank_target(cls, target: list[str]) -> list[str]:
        if any(not answer.strip() for answer in target):
            raise ValueError("target strings must not be blank")
        return target


class ConversationIn(_Strict):
    """One hand-written case."""

    case_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    setting: str = Field(min_length=1)
    assistant_names: list[str] = Field(min_length=1)
    """What the team calls the assistant; the first is its name in the system prompt."""
    patient: dict = {}
    """Optional structured facts about the patient, kept with the case (not shown to models)."""
    utterances: list[UtteranceIn] = Field(min_length=1)
    slots: list[SlotIn] = []

    _names_list = field_validator("assistant_names", mode="before")(_as_list)

    @field_validator("assistant_names")
    @classmethod
    def _no_blank_name(cls, names: list[str]) -> list[str]:
        if any(not name.strip() for name in names):
            raise ValueError("assistant names must not be blank")
        return names
