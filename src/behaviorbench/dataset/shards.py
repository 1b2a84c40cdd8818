"""Sharded JSONL per split: `<split>/shard-00000.jsonl`, a fixed number of cases per shard."""

from __future__ import annotations

import hashlib
from pathlib import Path

from behaviorbench.dataset.atomic import atomic_write_bytes
from behaviorbench.dataset.manifest import ShardEntry
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.schema import SPLITS

SHARD_SIZE = 1000


def shard_name(split: str, number: int) -> str:
    return f"{split}/shard-{number:05d}.jsonl"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_shards(directory: Path) -> None:
    """Every shard the manifest lists is present and hashes to its recorded sha256.

    Training on a shard edited since the build would record the manifest's fingerprint for data
    it never had; `validate` reports every problem, this stops at the first.
    """
    from behaviorbench.dataset.manifest import load_manifest, manifest_path

    for number, entry in enumerate(load_manifest(directory).shards):
        shard = directory / entry.path
        if not shard.is_file():
            raise BehaviorBenchError(
                f"{manifest_path(directory)}: shards.{number}.path: {entry.path} is missing"
            )
        if file_sha256(shard) != entry.sha256:
            raise BehaviorBenchError(
                f"{shard}: sha256 differs from the manifest's shards.{number}.sha256; the shard changed "
                "since the build (see `behaviorbench validate`)"
            )


class ShardWriter:
    """Takes case lines in dataset order and writes each split's shards as they fill up.

    Every shard is written whole and atomically, so its sha256 is known as it lands.
    """

    def __init__(self, root: Path, shard_size: int = SHARD_SIZE):
        self.root = root
        self.shard_size = shard_size
        self.pending: dict[str, list[str]] = {}
        self.written: dict[str, int] = {}
        self.entries: list[ShardEntry] = []

    def write(self, split: str, line: str) -> None:
        lines = self.pending.setdefault(split, [])
        lines.append(line)
        if len(lines) == self.shard_size:
            self._flush(split)

    def close(self) -> list[ShardEntry]:
        """Flush partly filled shards; return all shards in split order, then number."""
        for split in list(self.pending):
            if self.pending[split]:
                self._flush(split)
        order = {split: i for i, split in enumerate(SPLITS)}
        return sorted(self.entries, key=lambda entry: (order.get(entry.split, len(order)), entry.path))

    def _flush(self, split: str) -> None:
        lines = self.pending[split]
        number = self.written.get(split, 0)
        name = shard_name(split, number)
        data = ("\n".join(lines) + "\n").encode("utf-8")
        atomic_write_bytes(self.root / name, data)
        self.entries.append(
            ShardEntry(path=name, split=split, cases=len(lines), sha256=hashlib.sha256(data).hexdigest())
        )
        self.written[split] = number + 1
        self.pending[split] = []
