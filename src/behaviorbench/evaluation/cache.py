"""A persistent cache of chat completions, so rerunning an evaluation recomputes nothing.

One SQLite file (WAL mode, so several runs can read and write it at once) maps the sha256 of
(model id, prompt messages, generation parameters) to the reply text. Only successful replies are
stored: a failed call is retried on the next run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from behaviorbench.inputs import open_database
from behaviorbench.models.base import GenerationParams

CACHE_FILE = "responses.sqlite"


def default_cache_path() -> Path:
    """$BEHAVIORBENCH_CACHE/responses.sqlite, else ~/.cache/behaviorbench/responses.sqlite."""
    root = os.environ.get("BEHAVIORBENCH_CACHE") or Path.home() / ".cache" / "behaviorbench"
    return Path(root) / CACHE_FILE


def cache_key(model_id: str, messages: list[dict], params: GenerationParams) -> str:
    payload = [model_id, messages, dataclasses.asdict(params)]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    """Replies by cache key; `hits` and `misses` count lookups since opening."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_database(self.path, "", "a response cache")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT reply FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return row[0]

    def put(self, key: str, reply: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO responses (key, reply) VALUES (?, ?)", (key, reply))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
