"""Turn hand-written conversations into cases: every check first, then the slot bookkeeping.

What the writer leaves out is derived here, the same way for every file:
- a slot after every utterance; those not listed are ambient, gold silent;
- task ids `<case_id>:tNN` in the order of the listed slots;
- the content target from the category (diagnosis, analytes, order, dose, treatment, issue);
- the gold response from `why`, or built from `target` when `why` is absent (see `gold_response`);
- `pair` links a problem to its minimal-pair control in the twin case (`control_of`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from pydantic import ValidationError

from behaviorbench.dataset.problems import Problem, _describe
from behaviorbench.importing.format import FORMAT_VERSION, ConversationIn, SlotIn
from behaviorbench.importing.sources import Document
from behaviorbench.schema import Case, Slot, TableAttachment, Target, Utterance
from behaviorbench.taxonomy import GROUP_OF, Behavior, Category, Group

VERSION = f"import-{FORMAT_VERSION}"
"""The `version` of imported cases and the `generator_version` of their manifest."""

TARGET_KIND: dict[Category, str] = {
    Category.ddx_reasoning: "diagnosis",
    Category.lab_interpretation: "analytes",
    Category.temporal_ordering: "order",
    Category.dose_calculation: "dose",
    Category.treatment_recommendation: "treatment",
    **{category: "issue" for category, group in GROUP_OF.items() if group is Group.proactive},
}
SYNONYM_KINDS = ("diagnosis", "treatment")
"""Kinds whose target strings are alternatives (any one passes); the others all count."""

_DOSE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z][\w/]*)\s*$")


@dataclass
class _Parsed:
    document: Document
    conversation: ConversationIn


def convert(documents: list[Document], split: str) -> tuple[list[Case], list[Problem]]:
    """The cases of all documents, or every problem found in them (then no case)."""
    parsed, problems = [], []
    for document in documents:
        conversation, found = _parse(document)
        problems.extend(found)
        if conversation is not None:
            parsed.append(_Parsed(document, conversation))
    problems.extend(_duplicate_ids(parsed))
    written = {doc.data.get("case_id") for doc in documents if isinstance(doc.data, dict)}
    problems.extend(_pair_problems(parsed, written))
    if problems:
        return [], problems
    controls = _controls(parsed)
    return [_case(item.conversation, split, controls) for item in parsed], []


def gold_response(slot: SlotIn) -> str:
    """`why` when given; otherwise built from `target`.

    Diagnosis and treatment targets are alternatives, so the first names the answer; other targets
    are all named, joined with commas (", then " for an order); a proactive flag is prefixed
    "Please check: ". A silent slot has no response.
    """
    if slot.gold is Behavior.silent:
        return ""
    if slot.why:
        return slot.why.strip()
    kind = TARGET_KIND[slot.category]
    terms = [answer.split("|")[0].strip() for answer in slot.target]
    if kind in SYNONYM_KINDS:
        text = terms[0]
    elif kind == "order":
        text = ", then ".join(terms)
    else:
        text = ", ".join(terms)
    if slot.gold is Behavior.proactive:
        return f"Please check: {text}."
    return f"{text[0].upper()}{text[1:]}."


def target_of(slot: SlotIn) -> Target | None:
    """The content check of a speaking slot, or None when it has no target."""
    if slot.gold is Behavior.silent or not slot.target:
        return None
    kind = TARGET_KIND[slot.category]
    if kind == "dose":
        value, unit = _DOSE.match(slot.target[0]).groups()
        return Target(kind="dose", value=float(value), unit=unit, tolerance=0.1)
    return Target(kind=kind, answers=list(slot.target))


def _parse(document: Document) -> tuple[ConversationIn | None, list[Problem]]:
    if not isinstance(document.data, dict):
        kind = "nothing" if document.data is None else type(document.data).__name__
        return None, [document.problem((), f"expected a mapping of case fields, got {kind}")]
    try:
        conversation = ConversationIn.model_validate(document.data)
    except ValidationError as error:
        problems, seen = [], set()
        for detail in error.errors():
            loc = tuple(detail["loc"])
            if loc not in seen:
                seen.add(loc)
                problems.append(document.problem(loc, _describe(detail)))
        return None, problems
    problems = [document.problem(loc, message) for loc, message in _slot_problems(conversation)]
    return (None if problems else conversation), problems


def _slot_problems(conversation: ConversationIn) -> list[tuple[tuple, str]]:
    """What pydantic cannot see: slots against the utterances and the category's rules."""
    found = []
    last = len(conversation.utterances) - 1
    taken: dict[int, int] = {}
    for number, slot in enumerate(conversation.slots):
        at = ("slots", number)
        group = GROUP_OF[slot.category]
        if slot.after > last:
            found.append((at + ("after",), f"{slot.after} is past the last utterance ({last})"))
        elif slot.after in taken:
            found.append(
                (at + ("after",), f"utterance {slot.after} already has a slot (slots.{taken[slot.after]})")
            )
        else:
            taken[slot.after] = number
        for k, cited in enumerate(slot.evidence):
            if not 0 <= cited <= slot.after:
                found.append((at + ("evidence", k), f"utterance {cited} is not in 0..{slot.after}"))
        if slot.category is Category.image_reasoning:
            found.append((at + ("category",), "image_reasoning needs an image; the import format has none"))
            continue
        if group is Group.reactive and slot.gold is not Behavior.reactive:
            found.append(
                (at + ("gold",), f"a {slot.category.value} slot is asked a question: gold must be reactive")
            )
        if group is Group.restraint and slot.gold is not Behavior.silent:
            found.append(
                (at + ("gold",), f"a {slot.category.value} slot tests restraint: gold must be silent")
            )
        if slot.gold is Behavior.silent and slot.target:
            found.append((at + ("target",), "a silent slot has nothing to check; remove the target"))
        if slot.gold is not Behavior.silent and not slot.why and not slot.target:
            found.append((at, f"a {slot.gold.value} slot needs `why` (the gold response) or `target`"))
        dose = slot.gold is not Behavior.silent and slot.target and TARGET_KIND[slot.category] == "dose"
        if dose and (len(slot.target) != 1 or not _DOSE.match(slot.target[0])):
            found.append((at + ("target",), "a dose target is one 'amount unit' string, e.g. '1050 mg'"))
        if slot.pair == conversation.case_id:
            found.append((at + ("pair",), "names its own case; a pair is the twin case's case_id"))
    return found


def _duplicate_ids(parsed: list[_Parsed]) -> list[Problem]:
    first: dict[str, _Parsed] = {}
    problems = []
    for item in parsed:
        case_id = item.conversation.case_id
        if case_id in first:
            where = f"{first[case_id].document.file}:{first[case_id].document.line_of(('case_id',))}"
            problems.append(
                item.document.problem(("case_id",), f"duplicate case_id {case_id!r}, first at {where}")
            )
        else:
            first[case_id] = item
    return problems


def _ordinal_slots(conversation: ConversationIn) -> dict[tuple[Category, int], int]:
    """(category, k) -> position of the k-th listed slot of that category: how twins' slots match."""
    seen: dict[Category, int] = defaultdict(int)
    found = {}
    for number, slot in enumerate(conversation.slots):
        found[(slot.category, seen[slot.category])] = number
        seen[slot.category] += 1
    return found


def _twin_slot(parsed: dict[str, _Parsed], item: _Parsed, number: int) -> tuple[_Parsed, int] | None:
    slot = item.conversation.slots[number]
    ordinal = sum(1 for other in item.conversation.slots[:number] if other.category is slot.category)
    twin = parsed[slot.pair]
    position = _ordinal_slots(twin.conversation).get((slot.category, ordinal))
    return None if position is None else (twin, position)


def _pair_problems(items: list[_Parsed], written: set[object]) -> list[Problem]:
    """Pairs that cannot be linked; a twin that is written but has problems of its own is skipped."""
    by_id = {item.conversation.case_id: item for item in items}
    problems = []
    for item in items:
        for number, slot in enumerate(item.conversation.slots):
            if slot.pair is None or slot.pair == item.conversation.case_id:
                continue
            if slot.pair not in by_id and slot.pair in written:
                continue  # its own problems are reported
            loc = ("slots", number, "pair")
            if slot.pair not in by_id:
                problems.append(item.document.problem(loc, f"no imported case has case_id {slot.pair!r}"))
                continue
            found = _twin_slot(by_id, item, number)
            nth = sum(1 for other in item.conversation.slots[:number] if other.category is slot.category) + 1
            if found is None:
                message = f"case {slot.pair!r} has no {_ordinal(nth)} {slot.category.value} slot to pair with"
                problems.append(item.document.problem(loc, message))
                continue
            twin, position = found
            other = twin.conversation.slots[position]
            if (slot.gold is Behavior.proactive) == (other.gold is Behavior.proactive):
                message = (
                    f"its twin slot ({slot.pair} slots.{position}) is also "
                    f"{'proactive' if slot.gold is Behavior.proactive else 'not proactive'}; "
                    "one side holds the problem (proactive), the other its control"
                )
                problems.append(item.document.problem(loc, message))
            elif other.pair not in (None, item.conversation.case_id):
                message = f"its twin slot ({slot.pair} slots.{position}) pairs with {other.pair!r} instead"
                problems.append(item.document.problem(loc, message))
    return problems


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _task_id(case_id: str, number: int) -> str:
    return f"{case_id}:t{number + 1:02d}"


def _controls(items: list[_Parsed]) -> dict[tuple[str, int], str]:
    """(case_id, slot position) of every control -> task id of the problem it controls."""
    by_id = {item.conversation.case_id: item for item in items}
    controls = {}
    for item in items:
        for number, slot in enumerate(item.conversation.slots):
            if slot.pair is None:
                continue
            twin, position = _twin_slot(by_id, item, number)
            here = (item.conversation.case_id, number)
            there = (twin.conversation.case_id, position)
            control, problem = (there, here) if slot.gold is Behavior.proactive else (here, there)
            controls[control] = _task_id(*problem)
    return controls


def _case(conversation: ConversationIn, split: str, controls: dict[tuple[str, int], str]) -> Case:
    listed = {slot.after: (number, slot) for number, slot in enumerate(conversation.slots)}
    slots = []
    for index in range(len(conversation.utterances)):
        if index not in listed:
            slots.append(Slot(index=index))
            continue
        number, slot = listed[index]
        slots.append(
            Slot(
                index=index,
                category=slot.category,
                task_id=_task_id(conversation.case_id, number),
                gold_behavior=slot.gold,
                gold_response=gold_response(slot),
                target=target_of(slot),
                evidence=slot.evidence,
                control_of=controls.get((conversation.case_id, number)),
            )
        )
    return Case(
        case_id=conversation.case_id,
        split=split,
        seed=0,
        version=VERSION,
        setting=conversation.setting,
        assistant_names=conversation.assistant_names,
        patient=conversation.patient,
        utterances=[_utterance(u) for u in conversation.utterances],
        slots=slots,
    )


def _utterance(utterance) -> Utterance:
    attachments = []
    if utterance.table is not None:
        table = utterance.table
        attachments.append(TableAttachment(title=table.title, columns=table.columns, rows=table.rows))
    return Utterance(
        speaker=utterance.speaker, role=utterance.role, text=utterance.text, attachments=attachments
    )
