"""Opening what users hand the toolkit: text files, SQLite databases and model folders.

Each failure is one `BehaviorBenchError` naming the file and what is wrong with it (the byte and
line of a non-UTF-8 byte, a file that is no database, a model folder without weights), so every
command reports them the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from behaviorbench.errors import BehaviorBenchError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


class NotUTF8(BehaviorBenchError):
    """A byte that is not UTF-8 text, with where it is."""

    def __init__(self, path: Path | str, line: int, offset: int, byte: int):
        self.path, self.line, self.offset = path, line, offset
        self.reason = f"byte {offset} (0x{byte:02x}) is not UTF-8 text"
        super().__init__(f"{path}:{line}: {self.reason}")


def decode(data: bytes, path: Path | str, first_line: int = 1, offset: int = 0) -> str:
    """`data` as UTF-8; a bad byte is reported with its file, line and byte offset in the file."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + data.count(b"\n", 0, error.start)
        raise NotUTF8(path, line, offset + error.start, data[error.start]) from None


def read_text(path: Path) -> str:
    """A whole text file; a folder, a missing file or a non-UTF-8 byte is one line naming it."""
    path = Path(path)
    if path.is_dir():
        raise BehaviorBenchError(f"{path}: is a folder, expected a file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BehaviorBenchError(f"{path}: cannot read ({error.strerror})") from None
    return decode(data, path)


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line of a text file, decoded line by line as it is read."""
    path = Path(path)
    if path.is_dir():
        raise BehaviorBenchError(f"{path}: is a folder, expected a file")
    if not path.is_file():
        raise BehaviorBenchError(f"{path}: no such file")
    offset = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            yield number, decode(raw, path, number, offset)
            offset += len(raw)
            offset += len(raw)


def open_database(path: Path, required_table: str, what: str) -> sqlite3.Connection:
    """An SQLite connection to `path`, refused unless the file is a database holding `required_table`."""
    path = Path(path)
    if path.is_dir():
        raise BehaviorBenchError(f"{path}: is a folder, expected {what}")
    try:
        connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        found = connection.execute(
            "SELECT name FROM sqlite_master WHERE name = ?", (required_table,)
        ).fetchone()
    except sqlite3.DatabaseError as error:
        raise BehaviorBenchError(f"{path}: not {what} ({error})") from None
    if found is None and required_table:
        connection.close()
        raise BehaviorBenchError(f"{path}: not {what} (no '{required_table}' table)")
    return connection


def check_model_folder(path: Path, needs_tokenizer: bool = True) -> None:
    """A Hugging Face model folder needs a readable config.json, weights and a tokenizer."""
    config = path / "config.json"
    if not config.is_file():
        raise BehaviorBenchError(f"{path}: not a model folder (no config.json)")
    try:
        data = json.loads(read_text(config))
    except json.JSONDecodeError as error:
        raise BehaviorBenchError(f"{config}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise BehaviorBenchError(f"{config}: model_type: missing; not a transformers model config")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise BehaviorBenchError(f"{path}: no model weights ({' or '.join(WEIGHT_FILES[::2])})")
    if needs_tokenizer and not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise BehaviorBenchError(f"{path}: no tokenizer (tokenizer.json or tokenizer_config.json)")
