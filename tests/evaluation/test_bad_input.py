"""Bad input to `behaviorbench eval`: one clear line, exit 2, and an existing run left untouched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from evalcases import make_dataset
from evalserver import ChatServer

from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.runner import run_eval


@pytest.fixture
def existing_run(dataset_dir, tmp_path) -> Path:
    with ChatServer() as server:
        run_eval(
            EvalConfig(model="openai:rules", data=dataset_dir, base_url=server.url, bootstrap=20),
            tmp_path / "run",
        )
    return tmp_path / "run"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def behaviorbench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "behaviorbench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def assert_refused(result: subprocess.CompletedProcess, *fragments: str) -> None:
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.slow
def test_bad_inputs_are_refused_in_one_line_and_leave_the_existing_run_untouched(
    existing_run, dataset_dir, tmp_path
):
    before = {
        name: (existing_run / name).read_bytes() for name in ("results.json", "samples.jsonl", "run.json")
    }
    fresh = tmp_path / "fresh"
    remote = ["--model", "openai:rules", "--data", str(dataset_dir), "--split", "test"]

    assert_refused(
        behaviorbench("eval", "--model", "hf:no-such-model", "--data", str(dataset_dir), "--out", str(fresh)),
        "no-such-model",
        "not found",
    )
    assert_refused(
        behaviorbench("eval", "--model", "gpt-4o", "--data", str(dataset_dir), "--out", str(fresh)),
        "gpt-4o",
        "hf:",
    )
    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    assert_refused(
        behaviorbench("eval", *remote, "--base-url", unreachable, "--retries", "1", "--out", str(fresh)),
        "cannot reach",
        unreachable,
    )
    assert not (fresh / "results.json").exists()
    assert_refused(
        behaviorbench("eval", *remote, "--protocol", "token", "--out", str(tmp_path / "token")),
        "token",
        "local model",
    )

    broken = make_dataset(tmp_path / "broken")
    shard = sorted((broken / "test").glob("*.jsonl"))[0] if (broken / "test").is_dir() else None
    shard = shard or sorted(broken.rglob("*.jsonl"))[0]
    shard.write_text(shard.read_text().replace('"split":"test"', '"split":"nonsense"', 1))
    assert_refused(
        behaviorbench("eval", *remote[:2], "--data", str(broken), "--out", str(existing_run)),
        "fails validation",
        shard.name,
    )
    assert_refused(
        behaviorbench("eval", *remote[:4], "--split", "train", "--out", str(existing_run)),
        "'train'",
    )
    other = make_dataset(tmp_path / "other", test_cases=4)
    assert_refused(
        behaviorbench(
            "eval", *remote[:2], "--data", str(other), "--split", "test", "--out", str(existing_run)
        ),
        "run.json",
        "dataset_fingerprint",
    )
    assert_refused(
        behaviorbench("eval", "--model", "openai:other", *remote[2:], "--out", str(existing_run)),
        "model=",
    )
    after = {name: (existing_run / name).read_bytes() for name in before}
    assert after == before


def test_score_refuses_a_directory_without_a_run(tmp_path):
    assert_refused(behaviorbench("score", str(tmp_path)), "run.json")


def test_score_rewrites_metrics_and_prints_the_table(existing_run):
    result = behaviorbench("score", str(existing_run), "--bootstrap", "20")
    assert result.returncode == 0, result.stderr
    assert "Behavior Macro-F1" in result.stdout
    labels = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│ ")]
    assert labels.index("F1 proactive") == labels.index("Proactive group score") + 1
    assert "results.json" in result.stdout
