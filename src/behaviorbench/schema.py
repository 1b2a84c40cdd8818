"""The BehaviorBench data model: one `Case` per JSONL line.

A case is a multi-party clinical conversation with a slot after every utterance. Designated slots
carry a category and a gold behavior; all others are ambient (gold silent). Gold history is
teacher-forced: the context at slot t holds the gold assistant turns of slots before t.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from behaviorbench.taxonomy import GROUP_OF, Behavior, Category, Group

Split = Literal["train", "dev", "test", "test_unseen"]
SPLITS: tuple[str, ...] = ("train", "dev", "test", "test_unseen")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TableAttachment(_Strict):
    """A lab table: structured rows, rendered to markdown for the model."""

    kind: Literal["table"] = "table"
    title: str
    columns: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        head = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join([f"**{self.title}**", head, rule, *body])


class ImageAttachment(_Strict):
    """A PNG (path relative to the dataset root) with the structured truth it was drawn from."""

    kind: Literal["image"] = "image"
    title: str
    path: str
    truth: dict[str, str | float | int]


Attachment = Annotated[TableAttachment | ImageAttachment, Field(discriminator="kind")]


class Utterance(_Strict):
    """One line of the conversation. `role` is free text ("fellow", "charge nurse", "paramedic" …)."""

    speaker: str = Field(min_length=1)
    role: str = Field(min_length=1)
    text: str
    attachments: list[Attachment] = []


class Target(_Strict):
    """What the content check looks for. Which fields are set depends on `kind`.

    - diagnosis / treatment / rhythm / issue: `answers` holds accepted strings (synonyms);
    - analytes: `answers` holds the abnormal analytes (set F1 against the reply);
    - order: `answers` holds event labels in gold time order;
    - dose: `value` + `unit` (+ `tolerance`, relative).
    """

    kind: Literal["diagnosis", "analytes", "order", "dose", "treatment", "rhythm", "issue"]
    answers: list[str] = []
    value: float | None = None
    unit: str | None = None
    tolerance: float | None = None


class Slot(_Strict):
    """The assistant's turn after utterance `index`."""

    index: int = Field(ge=0)
    gold_behavior: Behavior = Behavior.silent
    category: Category | None = None
    task_id: str | None = None
    gold_response: str = ""
    target: Target | None = None
    evidence: list[int] = []
    control_of: str | None = None
    subtype: str | None = None
    """The kind of problem within the category ("dose", "allergy", ...), for per-kind figures."""

    @property
    def designated(self) -> bool:
        return self.category is not None

    @property
    def group(self) -> Group | None:
        return GROUP_OF[self.category] if self.category else None

    @model_validator(mode="after")
    def _consistent(self) -> Slot:
        if self.category is None and self.gold_behavior is not Behavior.silent:
            raise ValueError("ambient slot must have gold_behavior 'silent'")
        if self.category is not None and not self.task_id:
            raise ValueError("designated slot needs a task_id")
        if self.gold_behavior is Behavior.silent and self.gold_response:
            raise ValueError("silent slot must have an empty gold_response")
        if self.gold_behavior is not Behavior.silent and not self.gold_response:
            raise ValueError(f"{self.gold_behavior.value} slot needs a gold_response")
        return self


class Case(_Strict):
    case_id: str
    split: Split
    seed: int
    version: str
    setting: str
    assistant_names: list[str] = Field(min_length=1)
    """What the team calls the assistant here; the first is its name in every system prompt, and an
    utterance that says any of them addresses it (a reply is then reactive)."""
    patient: dict
    difficulty: dict[str, bool] = {}
    utterances: list[Utterance]
    slots: list[Slot]

    @model_validator(mode="after")
    def _slot_per_utterance(self) -> Case:
        if [s.index for s in self.slots] != list(range(len(self.utterances))):
            raise ValueError("slots must be exactly one per utterance, indexed 0..n-1 in order")
        for s in self.slots:
            if any(e < 0 or e > s.index for e in s.evidence):
                raise ValueError(f"slot {s.index}: evidence must point at utterances 0..{s.index}")
        return self

    @property
    def designated(self) -> list[Slot]:
        return [s for s in self.slots if s.designated]
