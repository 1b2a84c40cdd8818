"""Case reports to structured facts with any OpenAI-compatible LLM, matched to the knowledge base.

Each report is sent once with a JSON schema for structured output; the reply is validated by
pydantic, so a model that answers in prose or breaks the schema is caught. A malformed reply costs
one more request that names the problem, then one clear line; it never stops the other reports.
Validated replies are cached in the project's SQLite response cache, and every finished report is
appended (and fsynced) to `extractions.jsonl`, so an interrupted run resumes where it stopped.
What the knowledge base does not know is listed per report, never dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from behaviorbench.dataset.problems import Problem
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.cache import ResponseCache
from behaviorbench.importing.llm import ask, open_backend
from behaviorbench.knowledge import load_knowledge_base
from behaviorbench.knowledge.models import KnowledgeBase
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.errors import BackendError

EXTRACTIONS = "extractions.jsonl"
MAX_TOKENS = 1500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Allergy(_Strict):
    substance: str
    reaction: str


class Medication(_Strict):
    drug: str
    dose: str
    """As written, e.g. "500 mg twice daily"; empty when the report gives none."""


class Lab(_Strict):
    analyte: str
    value: float
    unit: str


class Vitals(_Strict):
    heart_rate: float | None
    systolic_bp: float | None
    diastolic_bp: float | None
    respiratory_rate: float | None
    temperature_c: float | None
    spo2_percent: float | None


class ReportFacts(_Strict):
    """What a case is built from: the patient, the findings and the course, in the report's order."""

    age: int | None = Field(ge=0, le=120)
    sex: Literal["female", "male"] | None
    weight_kg: float | None
    creatinine_mg_dl: float | None
    allergies: list[Allergy]
    home_medications: list[Medication]
    vitals: Vitals
    labs: list[Lab]
    imaging: list[str]
    diagnosis: str
    differential: list[str]
    treatments: list[Medication]
    timeline: list[str]
    """Events in time order."""


class Extraction(_Strict):
    """One line of `extractions.jsonl`."""

    report_id: str
    facts: ReportFacts
    matched: dict[str, list[str]]
    """Knowledge-base ids per kind: condition, differential, analytes, drugs."""
    unmatched: list[str]
    """`field: value` of every item the knowledge base does not know."""


class Report(_Strict):
    report_id: str = Field(min_length=1)
    text: str = Field(min_length=1)


SYSTEM = (
    "You extract structured facts from a clinical case report. Reply with one JSON object that "
    "follows the given schema exactly and nothing else. Use null for what the report does not "
    "state and empty lists for absent items; copy drug, analyte and diagnosis names as written."
)


def read_reports(path: Path) -> tuple[list[Report], list[Problem]]:
    """Reports of a JSONL file (`report_id`, `text` per line), or every problem in it."""
    reports, problems, seen = [], [], {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [], [Problem(str(path), 1, "file", f"not UTF-8 text ({error.reason} at byte {error.start})")]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            report = Report.model_validate_json(line)
        except ValidationError as error:
            for detail in error.errors():
                field = ".".join(str(part) for part in detail["loc"]) or "json"
                problems.append(Problem(str(path), number, field, detail["msg"]))
            continue
        if report.report_id in seen:
            message = f"duplicate {report.report_id!r}, first at line {seen[report.report_id]}"
            problems.append(Problem(str(path), number, "report_id", message))
        seen[report.report_id] = number
        reports.append(report)
    if not reports and not problems:
        problems.append(Problem(str(path), 1, "report_id", "no report in the file"))
    return ([] if problems else reports), problems


@dataclass(frozen=True)
class Names:
    """Knowledge-base ids by every name a report may use: names, synonyms, aliases, brand names."""

    conditions: dict[str, str]
    analytes: dict[str, str]
    drugs: dict[str, str]
    allergy_classes: dict[str, str]

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Names:
        classes = {d.allergy_class for d in kb.drugs.values() if d.allergy_class}
        return cls(
            conditions=name_index((c.id, c.name, *c.synonyms) for c in kb.conditions.values()),
            analytes=name_index((a.id, a.name, *a.aliases) for a in kb.analytes.values()),
            drugs=name_index((d.id, d.name, *d.brand_names) for d in kb.drugs.values()),
            allergy_classes={name_key(c): c for c in classes},
        )


def match(facts: ReportFacts, kb: KnowledgeBase) -> tuple[dict[str, list[str]], list[str]]:
    """Knowledge-base ids of what the facts name, and `field: value` for everything else."""
    names = Names.of(kb)
    matched: dict[str, list[str]] = {"condition": [], "differential": [], "analytes": [], "drugs": []}
    unmatched: list[str] = []

    def look(kind: str, table: dict[str, str], field: str, name: str) -> None:
        found = table.get(name_key(name))
        if found is None:
            unmatched.append(f"{field}: {name}")
        elif found not in matched[kind]:
            matched[kind].append(found)

    look("condition", names.conditions, "diagnosis", facts.diagnosis)
    for name in facts.differential:
        look("differential", names.conditions, "differential", name)
    for lab in facts.labs:
        look("analytes", names.analytes, "labs", lab.analyte)
    for field, items in (("home_medications", facts.home_medications), ("treatments", facts.treatments)):
        for medication in items:
            look("drugs", names.drugs, field, medication.drug)
    for allergy in facts.allergies:
        key = name_key(allergy.substance)
        if key not in names.drugs and key not in names.allergy_classes:
            unmatched.append(f"allergies: {allergy.substance}")
    return matched, unmatched


def name_key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


def name_index(rows) -> dict[str, str]:
    return {name_key(name): row[0] for row in rows for name in row}


def response_format() -> dict:
    return {
        "type": "json_schema",
        "json_schema": {"name": "report_facts", "strict": True, "schema": ReportFacts.model_json_schema()},
    }


def _parse(reply: str) -> ReportFacts:
    """The facts of a reply; a fenced code block around the JSON is tolerated."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    return ReportFacts.model_validate_json(text)


async def _extract_one(
    backend, cache: ResponseCache, report: Report, params: GenerationParams
) -> ReportFacts:
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": report.text}]
    return await ask(backend, cache, "report_facts", messages, params, _parse, response_format())


def done_reports(out: Path) -> set[str]:
    path = out / EXTRACTIONS
    if not path.is_file():
        return set()
    data = path.read_bytes()
    intact = data[: data.rfind(b"\n") + 1].decode("utf-8")  # a cut last line is redone
    return {Extraction.model_validate_json(line).report_id for line in intact.splitlines()}


def extract_reports(
    reports_file: Path,
    llm: str,
    out: Path,
    base_url: str | None = None,
    concurrency: int = 4,
    retries: int = 3,
    timeout: float = 120.0,
    max_tokens: int = MAX_TOKENS,
    progress: bool = True,
) -> tuple[int, list[str]]:
    """Extract every report not yet in `out`; returns how many were written and one line per failure."""
    backend = open_backend(llm, base_url, concurrency, retries, timeout)
    reports, problems = read_reports(reports_file)
    if problems:
        raise BehaviorBenchError(
            "; ".join(str(p) for p in problems[:3]) + (" …" if len(problems) > 3 else "")
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done = done_reports(out)
    todo = [r for r in reports if r.report_id not in done]
    return asyncio.run(_run(backend, todo, out, GenerationParams(max_tokens=max_tokens), progress))


async def _run(
    backend, reports: list[Report], out: Path, params: GenerationParams, progress: bool
) -> tuple[int, list[str]]:
    from behaviorbench.dataset.progress import case_progress

    kb = load_knowledge_base()
    failures: list[str] = []
    written = 0
    with (
        ResponseCache() as cache,
        open(out / EXTRACTIONS, "a", encoding="utf-8") as sink,
        case_progress(progress) as bar,
    ):
        task = bar.add_task("extracting", total=len(reports))

        async def one(report: Report) -> None:
            nonlocal written
            try:
                facts = await _extract_one(backend, cache, report, params)
            except BackendError as error:
                failures.append(f"report {report.report_id}: {error}")
            else:
                matched, unmatched = match(facts, kb)
                line = Extraction(
                    report_id=report.report_id, facts=facts, matched=matched, unmatched=unmatched
                ).model_dump_json()
                sink.write(line + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                written += 1
            bar.advance(task)

        await asyncio.gather(*(one(report) for report in reports))
    await backend.aclose()
    return written, failures


def read_extractions(out: Path) -> list[Extraction]:
    path = Path(out) / EXTRACTIONS
    return [
        Extraction.model_validate(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
    ]
