"""Injected API faults through a loopback proxy: every errored sample is retried on resume, until
the run holds exactly the samples a fault-free run gives."""

from __future__ import annotations

import pytest
from evalserver import ChatServer
from faultproxy import FAULTS, FaultProxy

from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.results import read_results, read_samples
from behaviorbench.evaluation.runner import run_eval

MAX_RESUMES = 12


def evaluate(url: str, data, out, **options):
    options = {"concurrency": 4, "timeout": 0.5, "retries": 1, "bootstrap": 20, **options}
    return run_eval(EvalConfig(model="openai:rules", data=data, base_url=url, **options), out)


def decisions(run) -> dict:
    samples, _ = read_samples(run)
    return {(s.case_id, s.slot): (s.status, s.predicted, s.response) for s in samples}


@pytest.mark.parametrize("rate", [0.2, 0.6])
def test_every_sample_completes_after_resume(rate, dataset_dir, tmp_path, monkeypatch):
    with ChatServer() as server:
        monkeypatch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "clean-cache"))
        evaluate(server.url, dataset_dir, tmp_path / "clean")
        monkeypatch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "faulty-cache"))
        with FaultProxy(server.url, rate, seed=int(rate * 10)) as proxy:
            history = []
            for _ in range(MAX_RESUMES):
                evaluate(proxy.url, dataset_dir, tmp_path / "faulty")
                history.append((proxy.requests, read_results(tmp_path / "faulty").metrics.counts.errored))
                if history[-1][1] == 0:
                    break
    assert history[-1][1] == 0, history
    if rate > 0.5:
        assert len(history) > 1 and history[0][1] > 0, history  # errors happened and were retried
        assert sum(proxy.faults.values()) > 0 and all(proxy.faults[f] for f in FAULTS), proxy.faults
    requests = [r for r, _ in history]
    assert requests == sorted(set(requests))  # every resume with errored samples asked again
    assert decisions(tmp_path / "faulty") == decisions(tmp_path / "clean")
    results = read_results(tmp_path / "faulty")
    assert results.metrics.macro_f1 == read_results(tmp_path / "clean").metrics.macro_f1


def test_an_eval_with_errored_samples_fails_unless_errors_are_allowed(dataset_dir, tmp_path, capsys):
    from behaviorbench.cli import main

    with ChatServer() as server, FaultProxy(server.url, 1.0, seed=3) as proxy:
        args = ["eval", "--model", "openai:rules", "--data", str(dataset_dir), "--split", "test"]
        args += [
            "--base-url",
            proxy.url,
            "--retries",
            "0",
            "--timeout",
            "0.5",
            "--out",
            str(tmp_path / "run"),
        ]
        with pytest.raises(SystemExit) as failed:
            main(args)
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        with pytest.raises(SystemExit) as accepted:
            main([*args, "--allow-errors"])
    assert failed.value.code != 0
    assert len(errors) == 1 and "samples errored" in errors[0] and "--allow-errors" in errors[0], errors
    assert accepted.value.code == 0
    counts = read_results(tmp_path / "run").metrics.counts
    assert counts.errored > 0 and counts.errored == counts.designated + counts.ambient - counts.not_applicable


def test_a_resume_with_a_smaller_limit_records_the_cases_it_scores(dataset_dir, tmp_path):
    with ChatServer() as server:
        evaluate(server.url, dataset_dir, tmp_path / "run", limit=4)
        evaluate(server.url, dataset_dir, tmp_path / "run", limit=2)
    results = read_results(tmp_path / "run")
    assert results.metrics.counts.cases == 4
    assert results.limit == 4
