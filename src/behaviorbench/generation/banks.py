"""Phrase banks: the wording of cases lives in `data/*.yaml`, not in code.

Every list of phrasing variants (mappings with an `id`) is split once into the variants the
train/dev/test splits may use and the variants reserved for `test_unseen`, by a stable hash of the
id, so a model scored on test_unseen meets wordings it was never trained on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml

from behaviorbench.errors import BehaviorBenchError

BANK_FILES: tuple[str, ...] = (
    "cast.yaml",
    "settings.yaml",
    "questions.yaml",
    "chatter.yaml",
    "problems.yaml",
    "ecg.yaml",
    "presentations.yaml",
    "indications.yaml",
    "story.yaml",
)
UNSEEN_SHARE = 5
"""One variant in UNSEEN_SHARE (at least one per list of three or more) is reserved for test_unseen."""
RESERVING_BANKS: tuple[str, ...] = ("questions", "problems")
"""Banks whose variants phrase tasks; cast, settings and chatter are shared by all splits."""


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (str.__hash__ is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Variants:
    """The two views of one list of phrasing variants."""

    seen: tuple[Any, ...]
    unseen: tuple[Any, ...]

    def of(self, unseen: bool) -> tuple[Any, ...]:
        return self.unseen if unseen else self.seen


class PhraseBank:
    """All phrase-bank data, with every id-carrying list split into seen and unseen variants."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self._variants: dict[str, Variants] = {}
        self._index("", data)

    def _index(self, path: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                self._index(f"{path}.{key}" if path else str(key), value)
        elif isinstance(node, list) and node and all(isinstance(v, dict) and "id" in v for v in node):
            self._variants[path] = (
                _split_variants(node) if "." in path else Variants(tuple(node), tuple(node))
            )
        if isinstance(node, list):
            for position, value in enumerate(node):
                if isinstance(value, dict):
                    self._index(f"{path}.{position}", value)

    def get(self, path: str) -> Any:
        """The raw node at a dotted path, e.g. `problems.orders`."""
        node: Any = self.data
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                raise BehaviorBenchError(f"generation/data: phrase bank has no entry {path!r}")
            node = node[key]
        return node

    def variants(self, path: str, unseen: bool) -> tuple[Any, ...]:
        """The phrasing variants at `path` that a split may use."""
        try:
            return self._variants[path].of(unseen)
        except KeyError:
            raise BehaviorBenchError(
                f"generation/data: {path!r} is not a list of phrasing variants"
            ) from None

    def reserved_ids(self) -> set[str]:
        """Ids of every variant reserved for test_unseen (shared lists excluded)."""
        return {v["id"] for variants in self._variants.values() for v in variants.unseen} - {
            v["id"] for variants in self._variants.values() for v in variants.seen
        }


def _split_variants(entries: list[dict[str, Any]]) -> Variants:
    """Parallel lists (same ids) split alike because only the id is hashed."""
    if len(entries) < 3:
        return Variants(tuple(entries), tuple(entries))
    ranked = sorted(entries, key=lambda v: stable_hash(v["id"]))
    reserved = max(1, len(entries) // UNSEEN_SHARE)
    unseen_ids = {v["id"] for v in ranked[:reserved]}
    return Variants(
        seen=tuple(v for v in entries if v["id"] not in unseen_ids),
        unseen=tuple(v for v in entries if v["id"] in unseen_ids),
    )


@lru_cache(maxsize=1)
def load_phrase_bank() -> PhraseBank:
    """The packaged phrase banks, keyed by file stem (`cast`, `settings`, ...)."""
    root = files("behaviorbench.generation") / "data"
    data: dict[str, Any] = {}
    for name in BANK_FILES:
        try:
            data[name.removesuffix(".yaml")] = yaml.safe_load((root / name).read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            problem = " ".join(str(error).split())
            raise BehaviorBenchError(f"generation/data/{name}: invalid YAML: {problem}") from None
    return PhraseBank(data)
