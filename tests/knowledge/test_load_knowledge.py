"""The loader: caching, the data hash, and one-line errors that name the file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.knowledge import KnowledgeBase, knowledge_base_hash, load_knowledge_base


def _error(directory: Path) -> str:
    with pytest.raises(BehaviorBenchError) as raised:
        load_knowledge_base(directory)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_packaged_knowledge_base_loads_once_and_is_shared() -> None:
    first = load_knowledge_base()
    assert isinstance(first, KnowledgeBase)
    assert load_knowledge_base() is first


def test_a_copy_of_the_packaged_files_loads_to_the_same_facts(data_copy: Path) -> None:
    assert load_knowledge_base(data_copy) == load_knowledge_base()


def test_hash_is_the_same_for_identical_files_and_changes_with_any_edit(data_copy: Path) -> None:
    packaged = knowledge_base_hash()
    assert len(packaged) == 64
    assert knowledge_base_hash(data_copy) == packaged
    with (data_copy / "units.yaml").open("a") as handle:
        handle.write("- mmol/kg\n")
    assert knowledge_base_hash(data_copy) != packaged


def test_malformed_yaml_names_the_file_and_line(data_copy: Path) -> None:
    (data_copy / "drugs.yaml").write_text("- id: aspirin\n  name: [unclosed\n  drug_class: x\n")
    message = _error(data_copy)
    assert "drugs.yaml:" in message
    assert "invalid YAML" in message


def test_a_file_that_is_not_a_list_is_refused(data_copy: Path) -> None:
    (data_copy / "analytes.yaml").write_text("sodium: {low: 135}\n")
    assert "analytes.yaml: expected a list of entries" in _error(data_copy)


def test_a_missing_file_is_named(data_copy: Path) -> None:
    (data_copy / "prechecks.yaml").unlink()
    assert "prechecks.yaml: knowledge-base file is missing" in _error(data_copy)


def test_a_schema_error_names_the_entry_and_the_field_path(data_copy: Path, edit_entry) -> None:
    edit_entry("drugs.yaml", "heparin", lambda drug: drug["doses"][1].update(route="IO"))
    message = _error(data_copy)
    assert "drugs.yaml: entry 'heparin'" in message
    assert "'doses.1.route'" in message


def test_an_unknown_field_is_refused_not_dropped(data_copy: Path, edit_entry) -> None:
    edit_entry("conditions.yaml", "dka", lambda condition: condition.update(severity="high"))
    message = _error(data_copy)
    assert "conditions.yaml: entry 'dka'" in message
    assert "'severity'" in message


def test_a_duplicate_id_in_a_list_is_an_error(data_copy: Path) -> None:
    path = data_copy / "procedures.yaml"
    entries = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump([*entries, {"id": "lumbar_puncture", "name": "LP again"}]))
    assert "procedures.yaml: duplicate id 'lumbar_puncture'" in _error(data_copy)


def test_a_duplicate_key_inside_an_entry_is_an_error(data_copy: Path) -> None:
    (data_copy / "procedures.yaml").write_text("- id: lp\n  name: Lumbar puncture\n  name: Spinal tap\n")
    message = _error(data_copy)
    assert "procedures.yaml:3" in message
    assert "duplicate key 'name'" in message


def test_a_duplicate_unit_is_an_error(data_copy: Path) -> None:
    with (data_copy / "units.yaml").open("a") as handle:
        handle.write("- mg\n")
    assert "units.yaml: duplicate unit 'mg'" in _error(data_copy)
