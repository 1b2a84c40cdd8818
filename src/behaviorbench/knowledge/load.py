"""Read the knowledge-base YAML files into a validated `KnowledgeBase`.

Files hold lists of mappings; the loader keys them by `id` so a duplicate id is an error instead of
an entry silently overwriting another. Every failure is one `BehaviorBenchError` line naming the
file, the entry and the field.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.knowledge.consistency import find_inconsistencies
from behaviorbench.knowledge.models import (
    Abbreviation,
    Analyte,
    ClassInteraction,
    Clip,
    Condition,
    Drug,
    Interaction,
    KnowledgeBase,
    Precheck,
    Procedure,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

ENTRY_FILES: dict[str, type[BaseModel]] = {
    "analytes.yaml": Analyte,
    "conditions.yaml": Condition,
    "drugs.yaml": Drug,
    "prechecks.yaml": Precheck,
    "procedures.yaml": Procedure,
    "interactions.yaml": ClassInteraction,
    "abbreviations.yaml": Abbreviation,
    "clips.yaml": Clip,
}
UNITS_FILE = "units.yaml"
DATA_FILES: tuple[str, ...] = (*ENTRY_FILES, UNITS_FILE)


@lru_cache(maxsize=8)
def load_knowledge_base(directory: Path | None = None) -> KnowledgeBase:
    """The knowledge base packaged with behaviorbench, or the one in `directory` (used by tests)."""
    root = _data_root(directory)
    entries = {name: _read_entries(root, name, model) for name, model in ENTRY_FILES.items()}
    units = _read_units(root)
    kb = KnowledgeBase(
        analytes=entries["analytes.yaml"],
        conditions=entries["conditions.yaml"],
        drugs=_with_class_interactions(entries["drugs.yaml"], entries["interactions.yaml"]),
        class_interactions=entries["interactions.yaml"],
        abbreviations=entries["abbreviations.yaml"],
        clips=entries["clips.yaml"],
        prechecks=entries["prechecks.yaml"],
        procedures=entries["procedures.yaml"],
        units=units,
    )
    problems = find_inconsistencies(kb)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise BehaviorBenchError(
            f"{_name(root, first.file)}: entry {first.entry!r} field {first.field!r}: {first.problem}{more}"
        )
    return kb


def _with_class_interactions(drugs: dict[str, Drug], rules: dict[str, ClassInteraction]) -> dict[str, Drug]:
    """Each drug with the class interactions that apply to it added to its own list, so every
    reader of `Drug.interactions` sees them; a pair a drug lists itself keeps its own wording."""
    result = {}
    for drug in drugs.values():
        listed = {i.drug for i in drug.interactions}
        added: list[Interaction] = []
        for other in drugs.values():
            if other.id == drug.id or other.id in listed:
                continue
            for rule in rules.values():
                first, second = rule.between
                mine, theirs = drug.interaction_classes, other.interaction_classes
                if (first in mine and second in theirs) or (second in mine and first in theirs):
                    added.append(Interaction(drug=other.id, effect=rule.effect, severity=rule.severity))
                    break
        result[drug.id] = drug.model_copy(update={"interactions": [*drug.interactions, *added]})
    return result


def knowledge_base_hash(directory: Path | None = None) -> str:
    """sha256 over the data files' names and bytes, so a dataset can record which facts built it."""
    root = _data_root(directory)
    digest = hashlib.sha256()
    for name in sorted(DATA_FILES):
        digest.update(name.encode() + b"\0")
        digest.update((root / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _data_root(directory: Path | None) -> Traversable:
    return files("behaviorbench.knowledge") / "data" if directory is None else directory


def _name(root: Traversable, file: str) -> str:
    return str(root / file)


class _UniqueKeyLoader(yaml.CSafeLoader):
    """libyaml-backed SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _read_yaml(root: Traversable, file: str) -> Any:
    path = root / file
    if not path.is_file():
        raise BehaviorBenchError(f"{_name(root, file)}: knowledge-base file is missing")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        line = f":{error.problem_mark.line + 1}" if error.problem_mark is not None else ""
        problem = " ".join(str(error.problem or error).split())
        raise BehaviorBenchError(f"{_name(root, file)}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise BehaviorBenchError(
            f"{_name(root, file)}: invalid YAML: {' '.join(str(error).split())}"
        ) from None


def _read_entries(root: Traversable, file: str, model: type[BaseModel]) -> dict[str, Any]:
    raw = _read_yaml(root, file)
    if not isinstance(raw, list):
        raise BehaviorBenchError(f"{_name(root, file)}: expected a list of entries, got {type(raw).__name__}")
    entries: dict[str, Any] = {}
    for index, item in enumerate(raw):
        label = repr(item.get("id")) if isinstance(item, dict) and "id" in item else f"#{index + 1}"
        if not isinstance(item, dict):
            raise BehaviorBenchError(f"{_name(root, file)}: entry {label}: expected a mapping")
        try:
            entry = model.model_validate(item)
        except ValidationError as error:
            raise BehaviorBenchError(f"{_name(root, file)}: entry {label} {_describe(error)}") from None
        if entry.id in entries:
            raise BehaviorBenchError(f"{_name(root, file)}: duplicate id {entry.id!r}")
        entries[entry.id] = entry
    return entries


def _read_units(root: Traversable) -> frozenset[str]:
    raw = _read_yaml(root, UNITS_FILE)
    if not isinstance(raw, list) or not all(isinstance(unit, str) for unit in raw):
        raise BehaviorBenchError(f"{_name(root, UNITS_FILE)}: expected a list of unit strings")
    duplicates = sorted({unit for unit in raw if raw.count(unit) > 1})
    if duplicates:
        raise BehaviorBenchError(f"{_name(root, UNITS_FILE)}: duplicate unit {duplicates[0]!r}")
    return frozenset(raw)


def _describe(error: ValidationError) -> str:
    """All of pydantic's complaints about one entry, on one line, each with its field path."""
    parts = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].replace("\n", " ")
        parts.append(f"field {field!r}: {message}" if field else message)
    return "; ".join(parts)
