"""The SQLite response cache: hits, misses, keys, persistence."""

from __future__ import annotations

import sqlite3

from behaviorbench.evaluation.cache import ResponseCache, cache_key, default_cache_path
from behaviorbench.models.base import GenerationParams

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Dr. A (attending): hi"}]


def test_miss_then_hit_and_persistence_across_connections(tmp_path):
    key = cache_key("m", MESSAGES, GenerationParams())
    with ResponseCache(tmp_path / "r.sqlite") as cache:
        assert cache.get(key) is None
        cache.put(key, "[SILENT]")
        assert cache.get(key) == "[SILENT]"
        assert (cache.hits, cache.misses) == (1, 1)
    with ResponseCache(tmp_path / "r.sqlite") as cache:
        assert cache.get(key) == "[SILENT]"
    mode = sqlite3.connect(tmp_path / "r.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_key_depends_on_model_messages_and_params():
    base = cache_key("m", MESSAGES, GenerationParams())
    assert base == cache_key("m", [dict(m) for m in MESSAGES], GenerationParams())
    assert base != cache_key("other", MESSAGES, GenerationParams())
    assert base != cache_key("m", MESSAGES[:1], GenerationParams())
    assert base != cache_key("m", MESSAGES, GenerationParams(max_tokens=8))
    assert base != cache_key("m", MESSAGES, GenerationParams(seed=1))


def test_cache_directory_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "c"))
    assert default_cache_path() == tmp_path / "c" / "responses.sqlite"
    with ResponseCache() as cache:
        cache.put("k", "v")
    assert (tmp_path / "c" / "responses.sqlite").is_file()
