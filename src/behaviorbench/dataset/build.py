"""Build a dataset: generate cases in a process pool, stream them to shards, write the manifest.

Workers return finished JSON lines and their own counts, so the parent only writes bytes. Chunks
are contiguous index ranges reassembled in index order: the shards are byte-identical whatever the
number of workers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.counts import DatasetCounts
from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.dataset.manifest import (
    MANIFEST_NAME,
    Manifest,
    load_manifest,
    manifest_path,
    write_manifest,
)
from behaviorbench.dataset.progress import case_progress
from behaviorbench.dataset.shards import SHARD_SIZE, ShardWriter
from behaviorbench.dataset.workers import end_with_parent
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation import GENERATOR_VERSION, generate_case
from behaviorbench.knowledge import knowledge_base_hash
from behaviorbench.locks import folder_lock
from behaviorbench.schema import SPLITS

BUILDING = ".building.json"
"""Marks a folder a build is writing; a folder holding it and no manifest is an interrupted build."""
PAPER_SCALE_CASES = 10_400
"""Cases in a paper-scale build: enough for the paper's 142,496 designated tasks at the generator's
mean of about 14 tasks per case (stories ask for what their course needs, not every category)."""
PAPER_SCALE_TASKS = 142_496

Chunk = tuple[list[tuple[str, str]], DatasetCounts]
"""(split, JSON line) per case in index order, and the chunk's counts."""


def build_dataset(
    out: Path,
    cases: int,
    seed: int,
    workers: int = 1,
    scenes: int | None = None,
    progress: bool = True,
) -> Manifest:
    """Generate `cases` cases for `seed` into `out`; rebuilding the same dataset in place is allowed."""
    if cases < 1:
        raise BehaviorBenchError(f"--cases: must be at least 1, got {cases}")
    if workers < 1:
        raise BehaviorBenchError(f"--workers: must be at least 1, got {workers}")
    if scenes is not None and scenes < 1:
        raise BehaviorBenchError(f"--scenes: must be at least 1, got {scenes}")
    out = Path(out)
    identity = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "cases": cases,
        "scenes": scenes,
        "knowledge_base_hash": knowledge_base_hash(),
        "shard_size": SHARD_SIZE,
    }
    with folder_lock(out, "dataset"):
        _claim(out, identity)
        atomic_write_text(out / BUILDING, json.dumps(identity) + "\n")
        manifest = _build(out, identity, seed, scenes, cases, workers, progress)
        (out / BUILDING).unlink()
    return manifest


def _build(
    out: Path, identity: dict, seed: int, scenes: int | None, cases: int, workers: int, progress: bool
) -> Manifest:
    chunks = _chunk_ranges(cases, workers)
    writer = ShardWriter(out, SHARD_SIZE)
    counts = DatasetCounts()
    pool = (
        ProcessPoolExecutor(max_workers=workers, initializer=end_with_parent, initargs=(os.getpid(),))
        if workers > 1
        else nullcontext()
    )
    with pool as executor:
        # Every chunk is submitted (and, with fork, every worker started) before the progress
        # bar starts its refresh thread.
        results = _submit(executor, seed, scenes, chunks)
        with case_progress(progress) as bar:
            task = bar.add_task("building", total=cases)
            for lines, chunk_counts in results:
                for split, line in lines:
                    writer.write(split, line)
                counts.merge(chunk_counts)
                bar.advance(task, len(lines))
    manifest = Manifest(**identity, counts=counts.canonical(), shards=writer.close())
    write_manifest(out, manifest)
    _remove_stale_shards(out, manifest)
    return manifest


def generate_chunk(seed: int, start: int, stop: int, scenes: int | None) -> Chunk:
    """Runs in a worker: generate, serialise and count cases start..stop-1."""
    lines, counts = [], DatasetCounts()
    for index in range(start, stop):
        case = generate_case(seed, index, scenes)
        lines.append((case.split, case_to_line(case)))
        counts.add(case)
    return lines, counts


def _submit(
    pool: ProcessPoolExecutor | None, seed: int, scenes: int | None, chunks: list[tuple[int, int]]
) -> Iterator[Chunk]:
    """Results in index order: `map` yields in submission order whatever finishes first."""
    if pool is None:
        return (generate_chunk(seed, start, stop, scenes) for start, stop in chunks)
    starts, stops = zip(*chunks, strict=True)
    return pool.map(generate_chunk, [seed] * len(chunks), starts, stops, [scenes] * len(chunks))


def _chunk_ranges(cases: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous index ranges, small enough to balance the pool and move the progress bar."""
    size = max(1, min(64, cases // (workers * 16)))
    return [(start, min(start + size, cases)) for start in range(0, cases, size)]


def _remove_stale_shards(out: Path, manifest: Manifest) -> None:
    """Shards an interrupted earlier build left behind would otherwise sit unlisted beside the new ones."""
    listed = {entry.path for entry in manifest.shards}
    for split in SPLITS:
        for shard in (out / split).glob("shard-*.jsonl"):
            if f"{split}/{shard.name}" not in listed:
                shard.unlink()


def _claim(out: Path, identity: dict[str, object]) -> None:
    """Refuse a non-empty folder unless it holds this very dataset (then it is rebuilt) or an
    interrupted build (marked by its `.building.json`): no other folder is written into or deleted from."""
    if not any(out.iterdir()):
        return
    if not manifest_path(out).is_file():
        if (out / BUILDING).is_file():
            return  # an interrupted build: its shards are replaced or removed
        raise BehaviorBenchError(f"{out}: not empty and holds no {MANIFEST_NAME}; refusing to build into it")
    existing = load_manifest(out).identity()
    differing = [
        f"{key} {existing[key]!r} != {value!r}" for key, value in identity.items() if existing[key] != value
    ]
    if differing:
        raise BehaviorBenchError(
            f"{manifest_path(out)}: holds a different dataset ({'; '.join(differing)}); "
            "refusing to overwrite it, choose another --out"
        )
