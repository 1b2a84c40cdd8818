"""The manifest: what a dataset directory holds, how it was made, and a sha256 per shard."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.dataset.counts import DatasetCounts
from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.inputs import read_text

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


class ShardEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    """Relative to the dataset directory, with forward slashes."""
    split: str
    cases: int
    sha256: str

    @field_validator("path")
    @classmethod
    def _inside_the_dataset(cls, path: str) -> str:
        """A shard is read from inside its dataset folder, never from `../../etc/passwd`."""
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or "\\" in path or ":" in path or ".." in parts:
            raise ValueError(f"{path!r} is not a relative path inside the dataset folder")
        return path


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    generator_version: str
    seed: int | None
    cases: int
    scenes: int | None = None
    knowledge_base_hash: str | None = None
    shard_size: int
    counts: DatasetCounts
    shards: list[ShardEntry]
    scored_tasks: list[str] | None = None
    """When set, evaluation scores only these designated tasks; every other slot keeps its place
    as context, and ambient slots still count for false alarms. BehaviorBench-Hard sets it to
    the tasks it selected, so a model is scored on what was hard, not on whole cases."""

    def identity(self) -> dict[str, object]:
        """The build inputs that decide every byte of the shards."""
        return {
            "generator_version": self.generator_version,
            "seed": self.seed,
            "cases": self.cases,
            "scenes": self.scenes,
            "knowledge_base_hash": self.knowledge_base_hash,
            "shard_size": self.shard_size,
        }

    @property
    def splits(self) -> list[str]:
        """Splits that hold at least one case, in shard order."""
        return list(dict.fromkeys(entry.split for entry in self.shards))


def manifest_path(directory: Path) -> Path:
    return directory / MANIFEST_NAME


def load_manifest(directory: Path) -> Manifest:
    path = manifest_path(directory)
    if not path.is_file():
        raise BehaviorBenchError(
            f"{path}: not found; is {directory} a dataset built by `behaviorbench build`?"
        )
    try:
        return Manifest.model_validate_json(read_text(path))
    except ValidationError as error:
        raise BehaviorBenchError(f"{path}: {field_error(error, 'manifest')}") from None


def write_manifest(directory: Path, manifest: Manifest) -> None:
    atomic_write_text(manifest_path(directory), manifest.model_dump_json(indent=2) + "\n")


def dataset_fingerprint(directory: Path) -> str:
    """A short hash of the manifest: runs record it to tell which exact dataset they scored."""
    canonical = load_manifest(directory).model_dump_json()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
