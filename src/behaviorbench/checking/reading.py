"""Read what a case says: drug orders, procedures, lab values and error-prone abbreviations.

Everything here works from the knowledge base's names and from the general shape of a written
order ("<drug> <amount> <unit> <route> <frequency>"), not from the generator's phrase banks, so
the checker reads a case the way a pharmacist reading the transcript would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from behaviorbench.knowledge.models import KnowledgeBase
from behaviorbench.schema import TableAttachment, Utterance

DOSE_UNITS = ("mcg", "mg", "g", "units", "unit", "mEq", "mL", "mmol", "IU", "U")
ROUTES = ("PO", "IV", "IM", "SC", "SL", "INH", "PR", "TOP", "subcut", "subcutaneously")
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+"
_AMOUNT = re.compile(
    rf"^\s*(?P<amount>{_NUMBER})(?:\s*(?P<unit>{'|'.join(DOSE_UNITS)})(?![\w/]))?(?P<per>\s*/\s*(?:kg|m2))?",
)
_ROUTE = re.compile(rf"^\s*(?P<route>{'|'.join(ROUTES)})\b")
_NEGATED = re.compile(
    r"\b(?:hold|held|holding|stop|stopped|stopping|avoid|instead of|not|no|allergic|can't take|cannot take|"
    r"off|discontinue|discontinued|cancel|cancelled|switch(?:ed)? from)\b[^.;]{0,25}$",
    re.IGNORECASE,
)
_HOME = re.compile(
    r"\b(?:at home|home med|home medication|takes|taking|been on|is on|usual)\b", re.IGNORECASE
)
_ORDERING = re.compile(
    r"\b(?:order\w*|give|giving|start\w*|put(?:ting)? in|queue up|enter|draft|write up|written up|"
    r"plan is|go ahead|go with|hang|add|resume|restart|continue|charting|sent up|prescrib\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Order:
    """A drug named with an amount: what was ordered or proposed at one utterance."""

    drug: str
    amount: float
    unit: str | None
    per: str | None
    route: str | None
    rest: str
    """The words after the amount, unit and route up to the end of the sentence (the frequency)."""
    home: bool
    """Said as a home medication rather than a new order ("takes warfarin 5 mg at home"; not
    "queue up sildenafil 50 mg as his usual home dose")."""


@dataclass(frozen=True)
class LabReading:
    analyte: str
    value: float


_T = TypeVar("_T")
_MEMO: dict[tuple[int, str], object] = {}


def _per_kb(build: Callable[[KnowledgeBase], _T]) -> Callable[[KnowledgeBase], _T]:
    """Compute `build(kb)` once per knowledge base (the base is frozen but not hashable)."""

    def cached(kb: KnowledgeBase) -> _T:
        key = (id(kb), build.__name__)
        if key not in _MEMO:
            _MEMO[key] = (kb, build(kb))
        return _MEMO[key][1]  # type: ignore[index]

    return cached


def _pattern(names: list[str]) -> re.Pattern[str]:
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in ordered) + r")(?![\w-])", re.IGNORECASE)


@_per_kb
def _drug_names(kb: KnowledgeBase) -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern matching any drug name or brand name, and name (lower case) -> drug id."""
    owner: dict[str, str] = {}
    for drug in kb.drugs.values():
        for name in [drug.name, *drug.brand_names]:
            owner.setdefault(name.lower(), drug.id)
        plain = re.sub(r"\s*\(.*\)$", "", drug.name)
        owner.setdefault(plain.lower(), drug.id)
    return _pattern(list(owner)), owner


@_per_kb
def _procedure_names(kb: KnowledgeBase) -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """(names matched ignoring case, short aliases matched exactly -- "OR", not "or" -- , name ->
    procedure id)."""
    owner: dict[str, str] = {}
    loose, exact = [], []
    for procedure in kb.procedures.values():
        for name in [procedure.name, *procedure.aliases]:
            short = len(name) <= 4
            owner.setdefault(name if short else name.lower(), procedure.id)
            (exact if short else loose).append(name)
    return _pattern(loose), _exact(exact), owner


def _exact(names: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(names), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in ordered) + r")(?![\w-])")


@_per_kb
def _analyte_names(kb: KnowledgeBase) -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """(names matched ignoring case, short aliases matched exactly, name -> analyte id)."""
    owner: dict[str, str] = {}
    loose, exact = [], []
    for analyte in kb.analytes.values():
        for name in [analyte.name, *analyte.aliases]:
            key = name if len(name) <= 4 else name.lower()
            owner.setdefault(key, analyte.id)
            (exact if len(name) <= 4 else loose).append(name)
    return _pattern(loose), _exact(exact), owner


def drug_mentions(kb: KnowledgeBase, text: str) -> list[tuple[str, int, int]]:
    """(drug id, start, end) of every drug named in `text`."""
    pattern, owner = _drug_names(kb)
    return [(owner[m.group(1).lower()], m.start(), m.end()) for m in pattern.finditer(text)]


def orders(kb: KnowledgeBase, text: str) -> list[Order]:
    """Every drug named with an amount right after it (an order or a proposal with a dose)."""
    found = []
    for drug_id, start, end in drug_mentions(kb, text):
        amount = _AMOUNT.match(text[end:])
        if amount is None:
            continue
        after = text[end + amount.end() :]
        route = _ROUTE.match(after)
        if route is not None:
            after = after[route.end() :]
        rest = re.split(r"(?<!\d)[.;](?!\d)|\n", after, maxsplit=1)[0]
        before = text[max(0, start - 60) : start]
        if _NEGATED.search(before):
            continue
        sentence_start = max(text.rfind(".", 0, start), text.rfind(";", 0, start)) + 1
        found.append(
            Order(
                drug=drug_id,
                amount=float(amount.group("amount").replace(",", "")),
                unit=amount.group("unit"),
                per=(amount.group("per") or "").replace(" ", "").removeprefix("/") or None,
                route=route.group("route") if route is not None else None,
                rest=rest,
                home=bool(_HOME.search(text[sentence_start:start] + " " + rest))
                and not _ORDERING.search(text[sentence_start:start]),
            )
        )
    return found


def procedures(kb: KnowledgeBase, text: str) -> list[str]:
    """Procedure ids named in `text`."""
    loose, exact, owner = _procedure_names(kb)
    found = [owner[m.group(1).lower()] for m in loose.finditer(text)]
    return found + [owner[m.group(1)] for m in exact.finditer(text)]


def _masked(kb: KnowledgeBase, text: str) -> str:
    """`text` with drug names blanked, so "potassium chloride 10" is not read as a potassium (but
    "acetaminophen level 161" still reads as the level)."""
    pattern, _ = _drug_names(kb)

    def blank(match: re.Match[str]) -> str:
        level = text[match.end() : match.end() + 6] == " level"
        return match.group(0) if level else "#" * len(match.group(0))

    return pattern.sub(blank, text)


_VALUE_AFTER = re.compile(rf"^[^\d.;?!#]{{0,28}}?(?<![\w.])(?P<value>-?(?:{_NUMBER}))(?![\d/])")


def text_labs(kb: KnowledgeBase, text: str) -> list[LabReading]:
    """Lab values said in words: an analyte name or alias with a number shortly after it."""
    loose, exact, owner = _analyte_names(kb)
    masked = _masked(kb, text)
    readings = []
    for pattern, keyed in ((loose, str.lower), (exact, str)):
        for match in pattern.finditer(masked):
            value = _VALUE_AFTER.match(masked[match.end() :])
            if value is None:
                continue
            readings.append(
                LabReading(owner[keyed(match.group(1))], float(value.group("value").replace(",", "")))
            )
    return readings


_EARLIER = re.compile(rf"\byesterday(?:'s)?(?: it)? was (?P<value>{_NUMBER})", re.IGNORECASE)


def earlier_labs(kb: KnowledgeBase, text: str) -> list[LabReading]:
    """Yesterday's value of the one lab a line reports ("K 4.2 today; yesterday it was 3.6"):
    the number after "yesterday ... was"."""
    match = _EARLIER.search(text)
    if match is None:  # most lines: no need to read their labs again
        return []
    today = {reading.analyte for reading in text_labs(kb, text)}
    if len(today) != 1:
        return []
    return [LabReading(today.pop(), float(match.group("value").replace(",", "")))]


def table_labs(kb: KnowledgeBase, table: TableAttachment) -> list[LabReading]:
    """Lab values in a results table: a row whose first cell names an analyte and whose second is a number."""
    loose, exact, owner = _analyte_names(kb)
    readings = []
    for row in table.rows:
        if len(row) < 2:
            continue
        name = row[0].strip()
        analyte = owner.get(name.lower()) or owner.get(name)
        try:
            value = float(row[1].replace(",", ""))
        except ValueError:
            continue
        if analyte is not None:
            readings.append(LabReading(analyte, value))
    return readings


def utterance_labs(kb: KnowledgeBase, utterance: Utterance) -> list[LabReading]:
    """Every lab value an utterance reports, in words or in its tables."""
    readings = text_labs(kb, utterance.text)
    for attachment in utterance.attachments:
        if isinstance(attachment, TableAttachment):
            readings += table_labs(kb, attachment)
    return readings


def interval_hours(text: str) -> float | None:
    """The dosing interval a frequency phrase states, in hours (None when it states none)."""
    lowered = text.lower()
    words = {"once": 24.0, "twice": 12.0, "three times": 8.0, "four times": 6.0, "five times": 24 / 5}
    match = re.search(r"\bevery (\d+(?:\.\d+)?) (hour|hours|minute|minutes|day|days)\b", lowered)
    checks = [
        (match, lambda m: float(m.group(1)) * {"h": 1, "m": 1 / 60, "d": 24}[m.group(2)[0]]),
        (re.search(r"\bq(\d+)h\b", lowered), lambda m: float(m.group(1))),
        (re.search(r"\bevery (hour|minute|day|week)\b", lowered), lambda m: _unit_hours(m.group(1))),
        (re.search(r"\b(hourly)\b", lowered), lambda m: 1.0),
        (re.search(r"\bevery other day\b", lowered), lambda m: 48.0),
        (
            re.search(r"\b(once|twice|three times|four times|five times) (?:a day|daily)\b", lowered),
            lambda m: words[m.group(1)],
        ),
        (re.search(r"\b(once|twice) weekly\b", lowered), lambda m: 168.0 if m.group(1) == "once" else 84.0),
        (re.search(r"^\s*(daily)\b", lowered), lambda m: 24.0),
    ]
    found = [(m.start(), convert(m)) for m, convert in checks if m is not None]
    return min(found)[1] if found else None


def _unit_hours(unit: str) -> float:
    return {"hour": 1.0, "minute": 1 / 60, "day": 24.0, "week": 168.0}[unit]


def reported(text: str, finding: str) -> bool:
    """Whether `text` reports a result for `finding` (a number shortly after it: "QTc 440 ms",
    "QTc was 452"), not merely asks for it ("get an ECG for QTc")."""
    pattern = rf"(?<![\w-]){re.escape(finding)}(?![\w-])[^\d.;?!]{{0,20}}?\d"
    return re.search(pattern, text, re.IGNORECASE) is not None


def said(text: str, word: str) -> bool:
    """Whether `word` occurs in `text` as a word (case-insensitive)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None
