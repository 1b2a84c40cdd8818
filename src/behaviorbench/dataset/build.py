"""Build a dataset: generate cases in a process pool, stream them to shards, write the manifest.

Workers return finished JSON lines and their own counts, so the parent only writes bytes. Chunks
are contiguous index ranges reassembled in index order: the shards are byte-identical whatever the
number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from behaviorbench.dataset.counts import DatasetCounts
from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.dataset.manifest import (
    MANIFEST_NAME,
    Manifest,
    load_manifest,
    manifest_path,
    write_manifest,
)
from behaviorbench.dataset.shards import SHARD_SIZE, ShardWriter
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.generation import GENERATOR_VERSION, generate_case
from behaviorbench.knowledge import knowledge_base_hash

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
    out = Path(out)
    identity = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "cases": cases,
        "scenes": scenes,
        "knowledge_base_hash": knowledge_base_hash(),
        "shard_size": SHARD_SIZE,
    }
    _claim(out, identity)
    chunks = _chunk_ranges(cases, workers)
    writer = ShardWriter(out, SHARD_SIZE)
    counts = DatasetCounts()
    with _progress_bar(progress) as bar:
        task = bar.add_task("building", total=cases)
        for lines, chunk_counts in _generate(seed, scenes, chunks, workers):
            for split, line in lines:
                writer.write(split, line)
            counts.merge(chunk_counts)
            bar.advance(task, len(lines))
    manifest = Manifest(**identity, counts=counts.canonical(), shards=writer.close())
    write_manifest(out, manifest)
    return manifest


def generate_chunk(seed: int, start: int, stop: int, scenes: int | None) -> Chunk:
    """Runs in a worker: generate, serialise and count cases start..stop-1."""
    lines, counts = [], DatasetCounts()
    for index in range(start, stop):
        case = generate_case(seed, index, scenes)
        lines.append((case.split, case_to_line(case)))
        counts.add(case)
    return lines, counts


def _generate(seed: int, scenes: int | None, chunks: list[tuple[int, int]], workers: int) -> Iterator[Chunk]:
    if workers == 1:
        for start, stop in chunks:
            yield generate_chunk(seed, start, stop, scenes)
        return
    starts, stops = zip(*chunks, strict=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # map submits every chunk now and yields results in submission (= index) order.
        yield from pool.map(generate_chunk, [seed] * len(chunks), starts, stops, [scenes] * len(chunks))


def _chunk_ranges(cases: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous index ranges, small enough to balance the pool and move the progress bar."""
    size = max(1, min(64, cases // (workers * 16)))
    return [(start, min(start + size, cases)) for start in range(0, cases, size)]


def _claim(out: Path, identity: dict[str, object]) -> None:
    """Refuse a non-empty directory unless it holds this very dataset (then it is rebuilt)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise BehaviorBenchError(f"{out}: exists and is not a directory")
    if not any(out.iterdir()):
        return
    if not manifest_path(out).is_file():
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


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} cases/s" if speed else "- cases/s", style="progress.data.speed")


def _progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
