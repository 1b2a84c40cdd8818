"""Remote models over real loopback HTTP: retries, errors, cache, images, the judge."""

from __future__ import annotations

import json

import pytest
from evalserver import ChatServer

from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.results import read_results, read_samples
from behaviorbench.evaluation.runner import run_eval

SLOTS_PER_CASE = 9
TEST_CASES = 6


def remote_eval(server: ChatServer, data, out, protocol="tagged", **options):
    options = {"concurrency": 4, "timeout": 1.0, "retries": 4, "bootstrap": 50, **options}
    config = EvalConfig(model="openai:rules", data=data, protocol=protocol, base_url=server.url, **options)
    return run_eval(config, out)


def test_flaky_server_run_completes_with_every_sample_ok_or_explicitly_errored(
    dataset_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-4242")
    with ChatServer(failure_rate=0.2, seed=1, secret="yes") as server:
        remote_eval(server, dataset_dir, tmp_path / "run")
    assert all(server.failed.values()), server.failed  # every kind of failure happened
    samples, _ = read_samples(tmp_path / "run")
    assert len(samples) == TEST_CASES * SLOTS_PER_CASE
    assert len({(s.case_id, s.slot) for s in samples}) == len(samples)
    statuses = {s.status for s in samples}
    assert statuses <= {"ok", "errored", "not_applicable"}
    for sample in samples:
        if sample.status == "errored":
            assert sample.error and ("HTTP" in sample.error or "after" in sample.error)
        if sample.category is not None and sample.category.value == "image_reasoning":
            assert sample.status == "not_applicable"
    leaked = [s for s in samples if s.case_id == "case-00003" and s.status == "errored"]
    assert len(leaked) == SLOTS_PER_CASE - 1  # the server rejects that case with HTTP 400
    assert "sk-test-secret-4242" not in (tmp_path / "run" / "samples.jsonl").read_text()
    assert "sk-test-secret-4242" not in (tmp_path / "run" / "results.json").read_text()
    ok = [s for s in samples if s.status == "ok"]
    assert all(
        s.predicted == s.gold_behavior
        for s in ok
        if s.category is not None and s.gold_behavior.value != "silent"
    )


def test_rerun_is_served_from_the_cache(dataset_dir, tmp_path):
    with ChatServer() as server:
        remote_eval(server, dataset_dir, tmp_path / "first")
        first_requests = server.requests
        remote_eval(server, dataset_dir, tmp_path / "second")
        assert server.requests == first_requests
    first = read_results(tmp_path / "first")
    second = read_results(tmp_path / "second")
    assert second.timings.cache_hits == first.timings.cache_misses > 0
    assert second.timings.cache_misses == 0
    assert first.metrics == second.metrics


def test_rules_model_scores_as_expected(dataset_dir, tmp_path):
    with ChatServer() as server:
        results = read_results(remote_eval(server, dataset_dir, tmp_path / "run").parent)
    metrics = results.metrics
    # The rules answer every question and flag every amoxicillin order, controls included.
    assert metrics.reactive_f1 == 1
    assert metrics.restraint_f1 == 1
    assert metrics.false_alarm_rate == 0
    assert metrics.categories["safety_alert"].per_class["proactive"].recall == 1
    assert metrics.categories["safety_alert"].per_class["proactive"].precision == pytest.approx(0.5)
    assert metrics.content_accuracy == 1
    assert metrics.counts.not_applicable == TEST_CASES
    assert metrics.not_applicable_by_category == {"image_reasoning": TEST_CASES}


def test_multimodal_backend_gets_image_slots_as_data_uri_parts(dataset_dir, tmp_path):
    pytest.importorskip("behaviorbench.generation.ecg", reason="ECG rendering not available")
    with ChatServer() as server:
        remote_eval(server, dataset_dir, tmp_path / "run", multimodal=True)
    samples, _ = read_samples(tmp_path / "run")
    assert not [s for s in samples if s.status == "not_applicable"]
    assert server.images_seen > 0
    image = [s for s in samples if s.category is not None and s.category.value == "image_reasoning"]
    assert all(s.content_pass for s in image)


def test_free_protocol_with_a_judge_records_judge_failures_and_agreement(dataset_dir, tmp_path):
    with ChatServer() as server:
        remote_eval(
            server,
            dataset_dir,
            tmp_path / "run",
            protocol="free",
            judge="openai:judge",
            judge_base_url=server.url,
        )
    samples, _ = read_samples(tmp_path / "run")
    invalid = [s for s in samples if s.status == "invalid"]
    assert [(s.case_id, s.slot) for s in invalid] == [("case-00005", 0)]
    assert "Hard to say" in invalid[0].error
    designated = [s for s in samples if s.category is not None and s.status != "not_applicable"]
    assert all(s.judged_gold is not None for s in designated)
    agreement = read_results(tmp_path / "run").metrics.judge_agreement
    assert agreement is not None
    assert agreement.samples == len(designated)
    assert agreement.accuracy == 1  # the rules label every gold reply of this dataset right


def test_free_protocol_without_a_judge_uses_the_documented_rule(dataset_dir, tmp_path):
    with ChatServer() as server:
        remote_eval(server, dataset_dir, tmp_path / "run", protocol="free")
    samples, _ = read_samples(tmp_path / "run")
    by_slot = {(s.case_id, s.slot): s for s in samples}
    assert by_slot[("case-00000", 2)].predicted.value == "reactive"  # addressed by name, answered
    assert by_slot[("case-00000", 5)].predicted.value == "proactive"  # not addressed, spoke
    assert by_slot[("case-00000", 4)].predicted.value == "silent"  # "No comment."
    assert by_slot[("case-00005", 0)].predicted.value == "proactive"  # "GARBLE": spoke, unasked
    assert all(s.judged_gold is None for s in samples)
    stored = json.loads((tmp_path / "run" / "results.json").read_text())
    assert stored["metrics"]["judge_agreement"] is None
    assert score_samples(samples, n_bootstrap=50).macro_f1 == stored["metrics"]["macro_f1"]
