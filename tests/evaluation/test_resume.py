"""A killed run resumes to exactly the samples and metrics of an uninterrupted one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from evalcases import make_dataset

from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.results import read_results, read_samples
from behaviorbench.evaluation.runner import run_eval

CASES = 16
SLOTS_PER_CASE = 9
RUN_OPTIONS = ["--max-tokens", "8", "--bootstrap", "200"]


def eval_args(model, data, out) -> list[str]:
    return ["eval", "--model", f"hf:{model}", "--data", str(data), "--split", "test", "--out", str(out)]


def by_slot(samples) -> dict:
    keyed = {(s.case_id, s.slot): s.model_dump(mode="json") for s in samples}
    assert len(keyed) == len(samples), "duplicate samples"
    return keyed


def line_count(path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_equals_an_uninterrupted_run(tiny_model, tmp_path):
    data = make_dataset(tmp_path / "data", test_cases=CASES)
    killed = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "behaviorbench.cli",
            *eval_args(tiny_model, data, killed),
            *RUN_OPTIONS,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    samples_file = killed / "samples.jsonl"
    # A random point in the first half of the run, polled tightly: on a fast machine the whole run
    # takes about a second, so a sleep after the first case could outlast it.
    kill_after = random.randint(1, CASES // 2) * SLOTS_PER_CASE
    deadline = time.monotonic() + 240
    while line_count(samples_file) < kill_after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert process.poll() is None, (
        "the run ended before it could be killed: " + process.stderr.read().decode()
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < line_count(samples_file) < CASES * SLOTS_PER_CASE
    assert not (killed / "results.json").exists()

    # The rerun and the uninterrupted run are fresh processes like the killed one: a model run in
    # this process could inherit state (thread settings, loaded libraries) from earlier tests and
    # differ in the last bits of a probability.
    for out in (killed, tmp_path / "whole"):
        subprocess.run(
            [sys.executable, "-m", "behaviorbench.cli", *eval_args(tiny_model, data, out), *RUN_OPTIONS],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )

    resumed, _ = read_samples(killed)
    whole, _ = read_samples(tmp_path / "whole")
    assert len(resumed) == CASES * SLOTS_PER_CASE
    assert by_slot(resumed) == by_slot(whole)
    assert read_results(killed).metrics == read_results(tmp_path / "whole").metrics
    assert read_results(killed).timings.cases_resumed > 0


def test_a_truncated_line_and_a_partial_case_are_redone(tiny_model, dataset_dir, tmp_path):
    out = tmp_path / "run"
    run_eval(EvalConfig(model=f"hf:{tiny_model}", data=dataset_dir, max_tokens=8, bootstrap=50), out)
    complete = (out / "samples.jsonl").read_bytes()
    lines = complete.splitlines(keepends=True)
    # A kill mid-case: the last case lost its last four lines, the fifth is cut in half.
    (out / "samples.jsonl").write_bytes(b"".join(lines[:-5]) + lines[-5][: len(lines[-5]) // 2])
    with pytest.raises(json.JSONDecodeError):
        json.loads((out / "samples.jsonl").read_text().splitlines()[-1])
    run_eval(EvalConfig(model=f"hf:{tiny_model}", data=dataset_dir, max_tokens=8, bootstrap=50), out)
    samples, _ = read_samples(out)
    assert len(samples) == len(lines)
    assert sorted(complete.splitlines()) == sorted((out / "samples.jsonl").read_bytes().splitlines())
    assert read_results(out).timings.cases == 1
