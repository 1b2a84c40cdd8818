"""Load test of the rating server: 50 concurrent raters submit 20 answers each over loopback.

Some raters double-submit a form (two identical POSTs in flight at once) or reload a page before
answering. Every answer the server acknowledged must be in the database exactly once, as first
given. Prints sent/stored/lost/duplicates and POST latency; the last line is key=value figures.

    .venv/bin/python bench/review_load.py [--raters 50] [--answers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from behaviorbench.dataset.build import build_dataset
from behaviorbench.dataset.manifest import dataset_fingerprint
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.evaluation.records import Sample
from behaviorbench.review.study import create_study
from behaviorbench.taxonomy import Behavior

CRITERIA = ("realism", "proactivity", "restraint", "safety")
DOUBLE_SUBMIT = 0.15
RELOAD = 0.10
STARTUP_SECONDS = 60


def write_run(run_dir: Path, data_dir: Path, model: str, speaks: bool) -> Path:
    """A run that gives the gold turn (speaks) or stays silent at every slot."""
    run_dir.mkdir(parents=True)
    lines = []
    for case in iter_cases(data_dir, split="test"):
        for slot in case.slots:
            predicted = slot.gold_behavior if speaks else Behavior.silent
            sample = Sample(
                case_id=case.case_id,
                slot=slot.index,
                split=case.split,
                category=slot.category,
                group=slot.group,
                task_id=slot.task_id,
                control_of=slot.control_of,
                gold_behavior=slot.gold_behavior,
                predicted=predicted,
                status="ok",
                response=slot.gold_response if speaks else "",
                prompt_hash="bench",
            )
            lines.append(sample.model_dump_json())
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    identity = {
        "model": model,
        "protocol": "tagged",
        "data_dir": str(data_dir),
        "dataset_fingerprint": dataset_fingerprint(data_dir),
        "split": "test",
    }
    (run_dir / "results.json").write_text(json.dumps(identity), encoding="utf-8")
    return run_dir


def make_study(root: Path, raters: int, answers: int) -> tuple[Path, list[str]]:
    data_dir = root / "data"
    build_dataset(data_dir, cases=400, seed=11, workers=2, progress=False)
    runs = [
        write_run(root / "run-a", data_dir, "model-a", True),
        write_run(root / "run-b", data_dir, "model-b", False),
    ]
    raters_file = root / "raters.yaml"
    raters_file.write_text(
        "".join(f"- {{id: r{i}, name: Rater {i}}}\n" for i in range(raters)), encoding="utf-8"
    )
    db = root / "study.db"
    items = raters * answers // 2
    summary = create_study(runs, raters_file, items=items, overlap=2, seed=0, out=db)
    return db, [token for _, token in summary.links]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answer_form(page: str, rng: random.Random) -> dict[str, str]:
    form = {
        "csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
        "choice": rng.choice("AB") if rng.random() < 0.8 else "tie",
    }
    for criterion in CRITERIA:
        for side in "ab":
            form[f"{criterion}_{side}"] = str(rng.randint(1, 5))
    form["comment"] = f"note {rng.randint(0, 10**6)}"
    return form


async def rate(base: str, token: str, answers: int, seed: int, log: dict) -> None:
    """One rater: follow the link, then answer until done (at most twice the expected number of loops)."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.get(f"/r/{token}", follow_redirects=True)
        for _ in range(2 * answers + 5):
            page = await client.get("/rate", follow_redirects=True)
            if not page.url.path.startswith("/rate/"):
                break
            position = int(page.url.path.rsplit("/", 1)[1])
            if rng.random() < RELOAD:
                page = await client.get(f"/rate/{position}")
                log["reloads"] += 1
            form = answer_form(page.text, rng)
            copies = 2 if rng.random() < DOUBLE_SUBMIT else 1
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(client.post(f"/rate/{position}", data=form) for _ in range(copies))
            )
            elapsed = time.perf_counter() - started
            log["latency"] += [elapsed] * copies
            log["double_submits"] += copies - 1
            if all(r.status_code == 303 for r in responses):
                log["acknowledged"][(token, position)] = form
            else:
                log["errors"] += 1


def stored_answers(db: Path) -> tuple[int, int, dict]:
    """Answer rows, rows beyond one per assignment (answers and ratings), and the stored content."""
    from behaviorbench.review.store import sha256_hex

    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT COUNT(*), COUNT(DISTINCT assignment_id) FROM answers").fetchone()
        extra_ratings = connection.execute(
            "SELECT COALESCE(SUM(n - 8), 0) FROM (SELECT COUNT(*) AS n FROM ratings GROUP BY assignment_id)"
        ).fetchone()[0]
        content = {
            (token_hash, position): (choice, comment)
            for token_hash, position, choice, comment in connection.execute(
                "SELECT raters.token_sha256, position, choice, comment FROM answers "
                "JOIN assignments ON assignments.id = assignment_id JOIN raters ON raters.id = rater_id"
            )
        }
    return rows[0], rows[0] - rows[1] + extra_ratings, {"hash": sha256_hex, "rows": content}


async def run_load(base: str, tokens: list[str], answers: int) -> dict:
    log = {"latency": [], "acknowledged": {}, "double_submits": 0, "reloads": 0, "errors": 0}
    started = time.perf_counter()
    await asyncio.gather(*(rate(base, token, answers, seed, log) for seed, token in enumerate(tokens)))
    log["wall"] = time.perf_counter() - started
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--answers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db, tokens = make_study(root, args.raters, args.answers)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "behaviorbench.cli", "review", "serve", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    if httpx.get(base + "/", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("rating server did not start")
                time.sleep(0.1)
            log = asyncio.run(run_load(base, tokens, args.answers))
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored, duplicates, content = stored_answers(db)
    sent = len(log["acknowledged"])
    mismatched = sum(
        content["rows"].get((content["hash"](token), position)) != (form["choice"], form["comment"])
        for (token, position), form in log["acknowledged"].items()
    )
    latency_ms = np.array(log["latency"]) * 1000
    p50, p99 = np.percentile(latency_ms, [50, 99])
    print(
        f"raters={len(tokens)} answers_each={args.answers} "
        f"double_submits={log['double_submits']} reloads={log['reloads']}"
    )
    print(f"sent={sent} stored={stored} lost={sent - stored} duplicates={duplicates} mismatched={mismatched}")
    print(
        f"post latency p50={p50:.1f} ms p99={p99:.1f} ms over {len(latency_ms)} posts in {log['wall']:.1f} s"
    )
    print(
        f"sent={sent} stored={stored} lost={sent - stored} duplicates={duplicates} mismatched={mismatched} "
        f"errors={log['errors']} p50_ms={p50:.1f} p99_ms={p99:.1f} answers_per_s={sent / log['wall']:.1f}"
    )


if __name__ == "__main__":
    main()
