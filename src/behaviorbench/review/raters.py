"""Read the raters of a study from YAML (a list of mappings) or CSV (a header row)."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from behaviorbench.errors import BehaviorBenchError, field_error
from behaviorbench.inputs import read_text


class Rater(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    email: str | None = None


def load_raters(path: Path) -> list[Rater]:
    """Raters in file order; a bad row stops with one line naming the file, row and field."""
    path = Path(path)
    if not path.is_file():
        raise BehaviorBenchError(f"{path}: no such raters file")
    text = read_text(path)
    if path.suffix.lower() == ".csv":
        rows = [
            {k: v for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(text.splitlines())
        ]
        first_row = 2
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            rows = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise BehaviorBenchError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(rows, list):
            raise BehaviorBenchError(f"{path}: expected a list of raters (id, name, optional email)")
        first_row = 1
    else:
        raise BehaviorBenchError(f"{path}: raters file must end in .yaml, .yml or .csv")
    raters: list[Rater] = []
    for number, row in enumerate(rows, start=first_row):
        where = f"line {number}" if first_row == 2 else f"entry {number}"
        if not isinstance(row, dict):
            raise BehaviorBenchError(f"{path}: {where}: expected a mapping with id, name, optional email")
        try:
            raters.append(Rater.model_validate({k: str(v) for k, v in row.items()}))
        except ValidationError as error:
            raise BehaviorBenchError(f"{path}: {where}: {field_error(error)}") from None
    seen: set[str] = set()
    for rater in raters:
        if rater.id in seen:
            raise BehaviorBenchError(f"{path}: rater id {rater.id!r} appears twice")
        seen.add(rater.id)
    if not raters:
        raise BehaviorBenchError(f"{path}: no raters listed")
    return raters
