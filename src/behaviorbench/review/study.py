"""Create a blind pairwise review study from two or more runs on the same dataset."""

from __future__ import annotations

import json
import os
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from behaviorbench.dataset.manifest import dataset_fingerprint
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.review.context import dataset_image_reader, displayed_response, slot_context
from behaviorbench.review.design import Candidate, PlannedItem, assign_raters, select_items
from behaviorbench.review.raters import Rater, load_raters
from behaviorbench.review.runs import ReviewRun, load_runs, resolve_data_dir, system_labels
from behaviorbench.review.store import connect, load_criteria, sha256_hex


@dataclass
class StudySummary:
    items: int
    assignments: int
    links: list[tuple[Rater, str]]
    """Each rater with their secret token: shown once, stored only as a hash."""


def create_study(
    run_dirs: list[Path],
    raters_path: Path,
    items: int,
    overlap: int,
    seed: int,
    out: Path,
    data_dir: Path | None = None,
) -> StudySummary:
    out = Path(out)
    if out.exists():
        raise BehaviorBenchError(f"{out}: already exists; a study is created once (pick another --out)")
    raters = load_raters(raters_path)
    runs = load_runs(run_dirs)
    data = resolve_data_dir(runs, data_dir)
    found = dataset_fingerprint(data)
    if found != runs[0].dataset_fingerprint:
        raise BehaviorBenchError(
            f"{data}: dataset fingerprint {found} differs from {runs[0].dataset_fingerprint} "
            "recorded by the runs"
        )
    rng = random.Random(seed)
    planned = select_items(_candidates(runs), len(runs), items, rng)
    assignments = assign_raters(len(planned), len(raters), overlap, rng)
    tokens = [secrets.token_urlsafe(24) for _ in raters]

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    connection = connect(tmp, create=True)
    try:
        with connection:
            connection.execute("BEGIN")
            connection.execute(
                "INSERT INTO studies VALUES (1, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    seed,
                    overlap,
                    found,
                    str(data),
                    json.dumps(load_criteria()),
                ),
            )
            for number, (run, label) in enumerate(zip(runs, system_labels(runs), strict=True), start=1):
                connection.execute(
                    "INSERT INTO systems VALUES (?, ?, ?, ?, ?)",
                    (number, label, run.model, run.protocol, str(run.run_dir)),
                )
            for number, (rater, token) in enumerate(zip(raters, tokens, strict=True), start=1):
                connection.execute(
                    "INSERT INTO raters VALUES (?, ?, ?, ?, ?)",
                    (number, rater.id, rater.name, rater.email, sha256_hex(token)),
                )
            _insert_items(connection, planned, data)
            connection.executemany(
                "INSERT INTO assignments (item_id, rater_id, position, swap) VALUES (?, ?, ?, ?)",
                [(a.item + 1, a.rater + 1, a.position, int(a.swap)) for a in assignments],
            )
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    os.replace(tmp, out)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return StudySummary(len(planned), len(assignments), list(zip(raters, tokens, strict=True)))


def _candidates(runs: list[ReviewRun]) -> list[Candidate]:
    """Designated slots every run answered readably, in the first run's order."""
    candidates = []
    for key, first in runs[0].samples.items():
        if not first.designated:
            continue
        responses = []
        for run in runs:
            sample = run.samples.get(key)
            shown = displayed_response(sample) if sample is not None else None
            if shown is None:
                break
            responses.append(shown)
        else:
            candidates.append(
                Candidate(key[0], key[1], first.category.value, first.gold_behavior.value, tuple(responses))
            )
    return candidates


def _insert_items(connection, planned: list[PlannedItem], data: Path) -> None:
    wanted = {item.candidate.case_id for item in planned}
    cases = {case.case_id: case for case in iter_cases(data) if case.case_id in wanted}
    read_image = dataset_image_reader(data)
    for number, item in enumerate(planned, start=1):
        candidate = item.candidate
        case = cases.get(candidate.case_id)
        if case is None or candidate.slot >= len(case.slots):
            raise BehaviorBenchError(
                f"{data}: case {candidate.case_id} slot {candidate.slot} not in the dataset"
            )
        turns, images = slot_context(case, candidate.slot, read_image)
        x, y = item.pair
        connection.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                candidate.case_id,
                candidate.slot,
                candidate.category,
                candidate.gold_behavior,
                json.dumps(turns),
                x + 1,
                y + 1,
                json.dumps(candidate.responses[x]),
                json.dumps(candidate.responses[y]),
            ),
        )
        for digest, blob in images.items():
            connection.execute("INSERT OR IGNORE INTO images VALUES (?, ?)", (digest, blob))
            connection.execute("INSERT INTO item_images VALUES (?, ?)", (number, digest))
