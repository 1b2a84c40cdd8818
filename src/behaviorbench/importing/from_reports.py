"""`build --from-reports`: case reports to a dataset, through extraction, the story writer and,
optionally, natural rewriting of every line.

Every stage resumes: extraction from `extractions.jsonl` and the response cache, rewriting from the
cache. The dataset is rewritten whole from every report extracted so far, beside a summary
(`from-reports.json`) that lists per report its cases, the facts the knowledge base does not know,
the facts the story could not carry, and the rewriting's acceptance rate.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.manifest import Manifest
from behaviorbench.generation import GENERATOR_VERSION
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.importing.drama import Drama, write_drama
from behaviorbench.importing.llm import open_backend
from behaviorbench.importing.naturalize import Naturalized, naturalize_pairs, rewrite_lines
from behaviorbench.importing.output import replace_dataset
from behaviorbench.importing.reports import extract_reports, read_extractions
from behaviorbench.knowledge import load_knowledge_base

SUMMARY = "from-reports.json"
VERSION = f"{GENERATOR_VERSION}+reports-1"


@dataclass(frozen=True)
class ReportsBuild:
    """Every option of one `build --from-reports`."""

    reports: Path
    llm: str
    out: Path
    base_url: str | None = None
    seed: int = 0
    naturalize: bool = False
    concurrency: int = 4
    retries: int = 3
    timeout: float = 120.0
    progress: bool = True


@dataclass
class ReportsResult:
    extracted: int
    """Reports extracted in this run."""
    failures: list[str]
    """One line per report that failed extraction in this run."""
    dramas: list[Drama] = field(default_factory=list)
    manifest: Manifest | None = None
    naturalized: Naturalized | None = None


def build_from_reports(config: ReportsBuild) -> ReportsResult:
    """Extract what is missing, write every extracted report's twin pair, optionally rewrite, save."""
    out = Path(config.out)
    extracted, failures = extract_reports(
        config.reports, config.llm, out, base_url=config.base_url, concurrency=config.concurrency,
        retries=config.retries, timeout=config.timeout, progress=config.progress,
    )  # fmt: skip
    result = ReportsResult(extracted, failures)
    kb, bank = load_knowledge_base(), load_phrase_bank()
    result.dramas = [write_drama(e, kb, bank, config.seed) for e in read_extractions(out)]
    cases = [case for drama in result.dramas for case in drama.cases]
    if config.naturalize and cases:
        lines = list(dict.fromkeys(u.text for case in cases for u in case.utterances))
        rewrites = asyncio.run(_rewrite(config, lines))
        cases, result.naturalized = naturalize_pairs(cases, rewrites, kb)
    if cases:
        result.manifest = replace_dataset(out, cases, VERSION, config.seed)
    atomic_write_text(out / SUMMARY, json.dumps(_summary(config, result), indent=2) + "\n")
    return result


async def _rewrite(config: ReportsBuild, lines: list[str]) -> dict[str, str | None]:
    from behaviorbench.dataset.progress import case_progress
    from behaviorbench.evaluation.cache import ResponseCache

    backend = open_backend(config.llm, config.base_url, config.concurrency, config.retries, config.timeout)
    try:
        with ResponseCache() as cache, case_progress(config.progress) as bar:
            return await rewrite_lines(backend, cache, lines, bar)
    finally:
        await backend.aclose()


def _summary(config: ReportsBuild, result: ReportsResult) -> dict:
    return {
        "llm": config.llm,
        "seed": config.seed,
        "reports": [
            {
                "report_id": drama.report_id,
                "cases": [case.case_id for case in drama.cases],
                "unmatched": drama.unmatched,
                "not_used": drama.not_used,
                "error": drama.error,
            }
            for drama in result.dramas
        ],
        "failed_this_run": result.failures,
        "naturalize": result.naturalized.summary() if result.naturalized else None,
    }
