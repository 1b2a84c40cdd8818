"""The study database: one SQLite file holds the design, the raters and every answer.

WAL mode lets the rating server read while it writes; unique constraints make an answer
idempotent per assignment whatever the client replays.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import yaml

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import open_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    created TEXT NOT NULL,
    seed INTEGER NOT NULL,
    overlap INTEGER NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    data_dir TEXT NOT NULL,
    criteria TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS systems (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    protocol TEXT NOT NULL,
    run_dir TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    token_sha256 TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    slot INTEGER NOT NULL,
    category TEXT NOT NULL,
    gold_behavior TEXT NOT NULL,
    context TEXT NOT NULL,
    system_x INTEGER NOT NULL REFERENCES systems(id),
    system_y INTEGER NOT NULL REFERENCES systems(id),
    response_x TEXT NOT NULL,
    response_y TEXT NOT NULL,
    UNIQUE (case_id, slot, system_x, system_y)
);
CREATE TABLE IF NOT EXISTS images (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS item_images (
    item_id INTEGER NOT NULL REFERENCES items(id),
    image_sha256 TEXT NOT NULL REFERENCES images(sha256),
    PRIMARY KEY (item_id, image_sha256)
);
CREATE TABLE IF NOT EXISTS assignments (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id),
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    position INTEGER NOT NULL,
    swap INTEGER NOT NULL CHECK (swap IN (0, 1)),
    UNIQUE (rater_id, position),
    UNIQUE (item_id, rater_id)
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    assignment_id INTEGER NOT NULL UNIQUE REFERENCES assignments(id),
    choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie')),
    comment TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    revisions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ratings (
    assignment_id INTEGER NOT NULL REFERENCES assignments(id),
    criterion TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('A', 'B')),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (assignment_id, criterion, side)
);
CREATE TABLE IF NOT EXISTS sessions (
    id_sha256 TEXT PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    csrf TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revise_nonces (
    nonce_sha256 TEXT PRIMARY KEY,
    session_sha256 TEXT NOT NULL REFERENCES sessions(id_sha256),
    assignment_id INTEGER NOT NULL REFERENCES assignments(id),
    used INTEGER NOT NULL DEFAULT 0
);
"""

CRITERIA_PATH = Path(__file__).with_name("criteria.yaml")


def load_criteria() -> list[dict[str, str]]:
    """The rating criteria shown to raters, in display order."""
    return yaml.safe_load(CRITERIA_PATH.read_text(encoding="utf-8"))


def sha256_hex(text: str) -> str:
    """Secrets (rater tokens, session ids, nonces) are stored only as this hash."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def connect(path: Path, create: bool = False) -> sqlite3.Connection:
    """Open a study database in WAL mode; a missing file is an error unless creating."""
    path = Path(path)
    if not create and not path.is_file():
        raise BehaviorBenchError(
            f"{path}: no such study database; make one with `behaviorbench review create`"
        )
    connection = open_database(path, "" if create else "studies", "a study database")
    connection.row_factory = sqlite3.Row
    if create:
        connection.execute("PRAGMA journal_mode=WAL")  # persistent: recorded in the file itself
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute("PRAGMA synchronous=NORMAL")
    if create:
        connection.executescript(SCHEMA)
    return connection
