"""MEDEC clinical notes as presentation dramas: does the assistant catch the error before it is acted on?

MEDEC (Ben Abacha et al., Findings of ACL 2025; CC BY 4.0) holds clinical notes, each either
correct or with one error of diagnosis, management, treatment, pharmacotherapy or causal organism,
annotated with the wrong sentence and its correction. Each note becomes a short drama: the
attending hands over, a team member presents the note verbatim over a few utterances, the attending
commits to the plan as presented, and the assistant's slot after that is `error_correction`: gold
proactive when the note holds an error (target: the correction's key terms; gold response quoting
the wrong sentence and its correction), gold silent when it does not. Every other slot is ambient.
A correct note whose sentences are exactly those of an erroneous note's corrected text is that
note's minimal-pair control.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from behaviorbench.dataset.problems import Problem
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import Case, Slot, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category

VERSION = "import-medec-1"
COLUMNS = ("Text ID", "Text", "Error Flag", "Error Sentence", "Corrected Sentence", "Corrected Text")
ABSENT = ("", "NA")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_WORD = re.compile(r"[A-Za-z0-9][\w'\-]*")


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str
    role: str
    call: str = ""


class MedecBank(BaseModel):
    """The phrase bank of the dramas (`importing/data/medec.yaml`)."""

    model_config = ConfigDict(extra="forbid")

    assistant_names: list[str] = Field(min_length=1)
    settings: list[str] = Field(min_length=1)
    attending: Person
    presenters: list[Person] = Field(min_length=1)
    openers: list[str] = Field(min_length=1)
    max_presentation_utterances: int = Field(ge=1)
    commits: list[str] = Field(min_length=1)
    flag: str
    stop_words: list[str]
    max_terms: int = Field(ge=1)


@lru_cache(maxsize=1)
def load_bank() -> MedecBank:
    text = resources.files("behaviorbench.importing").joinpath("data/medec.yaml").read_text(encoding="utf-8")
    return MedecBank.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class Note:
    """One annotated note as read from the CSV."""

    text_id: str
    text: str
    error: str | None
    """The wrong sentence, or None for a correct note."""
    corrected: str | None
    corrected_text: str | None
    error_type: str | None
    line: int


def read_notes(path: Path) -> tuple[list[Note], list[Problem]]:
    """Every note of a MEDEC CSV, or all the problems found in it (one per row and column)."""
    label = str(path)
    try:
        return _read_notes(path, label)
    except UnicodeDecodeError as error:
        return [], [Problem(label, 1, "file", f"not UTF-8 text ({error.reason} at byte {error.start})")]
    except csv.Error as error:
        return [], [Problem(label, 1, "file", f"not a readable CSV file ({error})")]


def _read_notes(path: Path, label: str) -> tuple[list[Note], list[Problem]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            return [], [Problem(label, 1, column, "missing column") for column in missing]
        notes, problems, seen = [], [], {}
        start = 2
        for row in reader:
            line, start = start, reader.line_num + 1
            if all(not (value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # the blank rows the files end with
            note, found = _note(row, label, line, seen)
            problems.extend(found)
            if note is not None:
                notes.append(note)
                seen[note.text_id] = line
    if not notes and not problems:
        problems.append(Problem(label, 1, "Text ID", "no note in the file"))
    return ([] if problems else notes), problems


def _note(
    row: dict[str, str], label: str, line: int, seen: dict[str, int]
) -> tuple[Note | None, list[Problem]]:
    def value(column: str) -> str:
        return (row.get(column) or "").strip()

    problems = []
    text_id, text, flag = value("Text ID"), row.get("Text") or "", value("Error Flag")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", text_id):
        problems.append(Problem(label, line, "Text ID", f"{text_id!r} is not an id (letters, digits, . _ -)"))
    elif text_id in seen:
        problems.append(
            Problem(label, line, "Text ID", f"duplicate {text_id!r}, first at line {seen[text_id]}")
        )
    if not text.strip():
        problems.append(Problem(label, line, "Text", "empty note"))
    if flag not in ("0", "1"):
        problems.append(Problem(label, line, "Error Flag", f"{flag!r}; expected 1 (an error) or 0 (none)"))
    error = corrected = None
    if flag == "1":
        error, corrected = value("Error Sentence"), value("Corrected Sentence")
        for column, sentence in (("Error Sentence", error), ("Corrected Sentence", corrected)):
            if sentence in ABSENT:
                problems.append(Problem(label, line, column, "missing for a note flagged with an error"))
        if error not in ABSENT and error not in text:
            problems.append(Problem(label, line, "Error Sentence", "does not occur in the note's Text"))
    if problems:
        return None, problems
    corrected_text = value("Corrected Text")
    return (
        Note(
            text_id=text_id,
            text=text.strip(),
            error=error,
            corrected=corrected,
            corrected_text=None if corrected_text in ABSENT else corrected_text,
            error_type=value("Error Type") if flag == "1" else None,
            line=line,
        ),
        [],
    )


def sentences(text: str) -> list[str]:
    """The note's sentences and lines, whitespace collapsed."""
    return [" ".join(part.split()) for part in _SENTENCE_END.split(text) if part.strip()]


def key_terms(error: str, corrected: str) -> list[str]:
    """What the correction changes: the corrected sentence's words that differ from the wrong one.

    Each changed run of words, trimmed of stop words, is one term; a run longer than four words is
    split into its content words. At most `max_terms` terms; the content check asks for two thirds.
    """
    bank = load_bank()
    stop = set(bank.stop_words)
    wrong, right = _WORD.findall(error), _WORD.findall(corrected)
    matcher = difflib.SequenceMatcher(
        a=[w.lower() for w in wrong], b=[w.lower() for w in right], autojunk=False
    )
    terms: list[str] = []
    for op, _, _, first, last in matcher.get_opcodes():
        if op not in ("replace", "insert"):
            continue
        words = right[first:last]
        while words and words[0].lower() in stop:
            words = words[1:]
        while words and words[-1].lower() in stop:
            words = words[:-1]
        if len(words) > 4:
            terms.extend(w for w in words if w.lower() not in stop and len(w) > 3)
        elif words:
            terms.append(" ".join(words))
    if not terms:  # only stop words changed: check the correction's own content words
        wrong_words = {w.lower() for w in wrong}
        terms = [w for w in right if w.lower() not in stop and w.lower() not in wrong_words] or [
            w for w in right if w.lower() not in stop
        ]
    return list(dict.fromkeys(terms))[: bank.max_terms]


def sample_notes(notes: list[Note], size: int, seed: int) -> list[Note]:
    """`size` notes drawn at random without replacement, kept in file order: a stated, repeatable subset."""
    if not 1 <= size <= len(notes):
        raise BehaviorBenchError(f"--sample: must be 1..{len(notes)} (the notes in the file), got {size}")
    chosen = set(random.Random(seed).sample(range(len(notes)), size))
    return [note for k, note in enumerate(notes) if k in chosen]


def notes_to_cases(notes: list[Note], split: str) -> list[Case]:
    """One presentation drama per note; correct notes that mirror an erroneous one become its control."""
    controls = _controls(notes)
    return [_drama(note, split, controls.get(note.text_id)) for note in notes]


def case_id_of(note: Note) -> str:
    return f"medec-{note.text_id}"


def _task_id(note: Note) -> str:
    return f"{case_id_of(note)}:t01"


def _controls(notes: list[Note]) -> dict[str, str]:
    """Correct note id -> task id of the erroneous note whose corrected text it is, sentence for sentence."""
    correct: dict[frozenset[str], Note] = {}
    for note in notes:
        if note.error is None:
            correct.setdefault(frozenset(sentences(note.text)), note)
    controls = {}
    for note in notes:
        if note.error is not None and note.corrected_text:
            twin = correct.get(frozenset(sentences(note.corrected_text)))
            if twin is not None and twin.text_id not in controls:
                controls[twin.text_id] = _task_id(note)
    return controls


def _pick(options: list, key: str, salt: str):
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _chunks(parts: list[str], count: int) -> list[str]:
    """Consecutive sentences joined into at most `count` utterances of similar length."""
    count = min(count, len(parts))
    total = sum(len(part) for part in parts)
    chunks, current, done = [], [], 0
    for part in parts:
        current.append(part)
        done += len(part)
        if len(chunks) < count - 1 and done >= total * (len(chunks) + 1) / count:
            chunks.append(" ".join(current))
            current = []
    if current:
        chunks.append(" ".join(current))
    return chunks


def _drama(note: Note, split: str, control_of: str | None) -> Case:
    bank = load_bank()
    presenter = _pick(bank.presenters, note.text_id, "presenter")
    attending = bank.attending
    lines = [
        Utterance(
            speaker=attending.speaker,
            role=attending.role,
            text=_pick(bank.openers, note.text_id, "opener").format(call=presenter.call),
        )
    ]
    chunks = _chunks(sentences(note.text), bank.max_presentation_utterances)
    lines += [Utterance(speaker=presenter.speaker, role=presenter.role, text=chunk) for chunk in chunks]
    lines.append(
        Utterance(
            speaker=attending.speaker, role=attending.role, text=_pick(bank.commits, note.text_id, "commit")
        )
    )
    last = len(lines) - 1
    if note.error is None:
        slot = Slot(
            index=last,
            category=Category.error_correction,
            task_id=_task_id(note),
            gold_behavior=Behavior.silent,
            control_of=control_of,
        )
    else:
        error = " ".join(note.error.split())
        where = next((1 + k for k, chunk in enumerate(chunks) if error in chunk), None)
        slot = Slot(
            index=last,
            category=Category.error_correction,
            task_id=_task_id(note),
            gold_behavior=Behavior.proactive,
            gold_response=bank.flag.format(error=error, corrected=" ".join(note.corrected.split())),
            target=Target(kind="issue", answers=key_terms(note.error, note.corrected)),
            evidence=[k for k in (where, last) if k is not None],
        )
    patient = {"source": "MEDEC", "note_id": note.text_id}
    if note.error_type:
        patient["error_type"] = note.error_type
    return Case(
        case_id=case_id_of(note),
        split=split,
        seed=0,
        version=VERSION,
        setting=_pick(bank.settings, note.text_id, "setting"),
        assistant_names=bank.assistant_names,
        patient=patient,
        utterances=lines,
        slots=[*(Slot(index=k) for k in range(last)), slot],
    )
