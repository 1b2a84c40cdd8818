"""Write cases made outside the generator (e.g. from real case reports) in the dataset layout."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from behaviorbench.dataset.counts import DatasetCounts
from behaviorbench.dataset.jsonl import case_to_line
from behaviorbench.dataset.manifest import Manifest, write_manifest
from behaviorbench.dataset.shards import SHARD_SIZE, ShardWriter
from behaviorbench.schema import Case


def write_dataset(
    out: Path,
    cases: Iterable[Case],
    generator_version: str,
    seed: int | None = None,
    scenes: int | None = None,
    shard_size: int = SHARD_SIZE,
    knowledge_base_hash: str | None = None,
    scored_tasks: list[str] | None = None,
) -> Manifest:
    """Write cases made elsewhere (e.g. from real case reports or a subset) in the layout of a build."""
    out = Path(out)
    writer = ShardWriter(out, shard_size)
    counts = DatasetCounts()
    for case in cases:
        writer.write(case.split, case_to_line(case))
        counts.add(case)
    manifest = Manifest(
        generator_version=generator_version,
        seed=seed,
        cases=counts.cases,
        scenes=scenes,
        knowledge_base_hash=knowledge_base_hash,
        shard_size=shard_size,
        counts=counts.canonical(),
        shards=writer.close(),
        scored_tasks=scored_tasks,
    )
    write_manifest(out, manifest)
    return manifest
