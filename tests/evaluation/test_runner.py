"""The runner on a real (tiny, random) local model: the fast path, the run directory, rescoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from evalcases import make_dataset

from behaviorbench.conversation import NO_COMMENT, addresses_assistant, strip_behavior
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.results import read_identity, read_results, read_samples
from behaviorbench.evaluation.runner import rescore, run_eval
from behaviorbench.taxonomy import Behavior

SLOTS_PER_CASE = 9


def local_eval(model, data, out, **options):
    options = {"max_tokens": 8, "bootstrap": 100, **options}
    return run_eval(EvalConfig(model=f"hf:{model}", data=data, **options), out)


@pytest.fixture(scope="module")
def shared_run(tiny_model, tmp_path_factory):
    """One tagged run for the read-only tests of this module (a local model is never cached)."""
    root = tmp_path_factory.mktemp("shared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BEHAVIORBENCH_CACHE", str(root / "cache"))
        data = make_dataset(root / "data")
        return data, local_eval(tiny_model, data, root / "run").parent


@pytest.fixture
def tagged_run(shared_run, tmp_path):
    """A private copy of the shared run, free to modify."""
    return Path(shutil.copytree(shared_run[1], tmp_path / "run"))


@pytest.fixture
def dataset_dir(shared_run):
    return shared_run[0]


def test_one_sample_per_slot_with_probabilities_and_image_slots_not_applicable(tagged_run, dataset_dir):
    samples, _ = read_samples(tagged_run)
    assert len(samples) == 6 * SLOTS_PER_CASE
    assert len({(s.case_id, s.slot) for s in samples}) == len(samples)
    assert {s.split for s in samples} == {"test"}
    for sample in samples:
        if sample.category is not None and sample.category.value == "image_reasoning":
            assert sample.status == "not_applicable"
        else:
            assert sample.status == "ok"
            assert sum(sample.probabilities.values()) == pytest.approx(1)
            assert sample.predicted == max(sample.probabilities, key=sample.probabilities.get)
            assert sample.raw_output.startswith(f"[{sample.predicted.value.upper()}]")
            has_target = sample.slot in (2, 3, 7) or (sample.slot == 5 and sample.control_of is None)
            assert (sample.content_pass is not None) == has_target
            assert len(sample.prompt_hash) == 64


def test_results_record_provenance_and_the_metrics_of_the_samples(tagged_run, tiny_model, dataset_dir):
    results = read_results(tagged_run)
    assert results.run.model == f"hf:{tiny_model}"
    assert results.run.protocol == "tagged"
    assert results.run.split == "test"
    assert len(results.run.dataset_fingerprint) >= 16
    assert results.versions["torch"] and results.versions["behaviorbench"]
    assert results.timings.cases == 6 and results.timings.cases_resumed == 0
    samples, _ = read_samples(tagged_run)
    assert results.metrics == score_samples(samples, n_bootstrap=100, seed=0)
    assert read_identity(tagged_run) == results.run


def test_rerun_resumes_everything_and_changes_no_sample(tagged_run, tiny_model, dataset_dir):
    before = (tagged_run / "samples.jsonl").read_bytes()
    local_eval(tiny_model, dataset_dir, tagged_run)
    assert (tagged_run / "samples.jsonl").read_bytes() == before
    results = read_results(tagged_run)
    assert (results.timings.cases, results.timings.cases_resumed) == (0, 6)


def test_score_recomputes_the_metrics_from_samples_alone(tagged_run):
    original = read_results(tagged_run).metrics
    stored = json.loads((tagged_run / "results.json").read_text())
    stored["metrics"]["macro_f1"] = 0.999
    (tagged_run / "results.json").write_text(json.dumps(stored))
    assert rescore(tagged_run, n_bootstrap=100).metrics == original
    assert read_results(tagged_run).metrics == original
    (tagged_run / "results.json").unlink()  # a run killed before its end still scores
    assert rescore(tagged_run, n_bootstrap=100).metrics == original


def test_proactive_bias_moves_every_decision(tiny_model, dataset_dir, tmp_path):
    loud = local_eval(tiny_model, dataset_dir, tmp_path / "loud", proactive_bias=50.0, generate=False)
    quiet = local_eval(tiny_model, dataset_dir, tmp_path / "quiet", proactive_bias=-50.0, generate=False)
    loud_samples, _ = read_samples(loud.parent)
    quiet_samples, _ = read_samples(quiet.parent)
    assert {s.predicted for s in loud_samples if s.status == "ok"} == {Behavior.proactive}
    assert Behavior.proactive not in {s.predicted for s in quiet_samples}
    assert read_results(loud.parent).metrics.false_alarm_rate == 1
    assert all(s.response == "" and s.content_pass is None for s in loud_samples)


def test_a_false_alarm_on_an_ambient_slot_records_what_the_model_said(tiny_model, dataset_dir, tmp_path):
    """Pushed to speak everywhere, the model speaks on every ambient slot too: each such false alarm
    carries its generated response (no content check: nothing was asked there)."""
    local_eval(tiny_model, dataset_dir, tmp_path / "run", proactive_bias=50.0, limit=2)
    samples, _ = read_samples(tmp_path / "run")
    ambient = [s for s in samples if not s.designated]
    assert ambient and all(s.predicted is Behavior.proactive for s in ambient)
    for sample in ambient:
        assert sample.response and sample.raw_output.startswith("[PROACTIVE]")
        assert strip_behavior(sample.raw_output, "tagged") == sample.response
        assert sample.content_pass is None


def test_limit_evaluates_the_first_cases_and_a_larger_limit_extends_the_run(
    tiny_model, dataset_dir, tmp_path
):
    local_eval(tiny_model, dataset_dir, tmp_path / "run", limit=2)
    samples, _ = read_samples(tmp_path / "run")
    assert sorted({s.case_id for s in samples}) == ["case-00000", "case-00001"]
    local_eval(tiny_model, dataset_dir, tmp_path / "run", limit=3)
    samples, _ = read_samples(tmp_path / "run")
    assert len(samples) == 3 * SLOTS_PER_CASE
    assert read_results(tmp_path / "run").timings.cases_resumed == 2


@pytest.fixture(scope="module")
def token_model(tiny_model, tmp_path_factory):
    """The tiny model with the three behavior tokens added, as BehaviorSFT leaves a model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from behaviorbench.training.tokens import add_behavior_tokens

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    add_behavior_tokens(model, tokenizer)
    out = tmp_path_factory.mktemp("models") / "tiny-tokens"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_token_protocol_reads_the_behavior_token(token_model, dataset_dir, tmp_path):
    config = EvalConfig(
        model=f"hf:{token_model}", data=dataset_dir, protocol="token", max_tokens=4, bootstrap=20
    )
    run_eval(config, tmp_path / "run")
    samples, _ = read_samples(tmp_path / "run")
    scored = [s for s in samples if s.status != "not_applicable"]
    assert scored and all(s.status == "ok" for s in scored)
    assert all(s.raw_output.startswith(f"<|{s.predicted.value}|>") for s in scored)
    assert read_identity(tmp_path / "run").protocol == "token"


def test_free_protocol_on_a_local_model_decides_from_the_no_comment_token(tiny_model, dataset_dir, tmp_path):
    """Without a judge, a local model's plain reply is read from its logits: silence is the
    probability of opening with the no-comment token; speaking is reactive exactly when the slot's
    utterance addressed the assistant."""
    run_eval(
        EvalConfig(model=f"hf:{tiny_model}", data=dataset_dir, protocol="free", max_tokens=4, limit=2),
        tmp_path / "run",
    )
    samples, _ = read_samples(tmp_path / "run")
    assert len(samples) == 2 * SLOTS_PER_CASE
    cases = {c.case_id: c for c in iter_cases(dataset_dir, "test")}
    scored = [s for s in samples if s.status != "not_applicable"]
    assert scored and all(s.status == "ok" and s.probabilities for s in scored)
    for sample in scored:
        assert sum(sample.probabilities.values()) == pytest.approx(1.0)
        addressed = addresses_assistant(
            cases[sample.case_id].utterances[sample.slot].text, cases[sample.case_id].assistant_names
        )
        never = Behavior.proactive if addressed else Behavior.reactive
        assert sample.probabilities[never] == 0.0
        assert sample.predicted is not never
        if sample.predicted is Behavior.silent:
            assert sample.raw_output == NO_COMMENT and sample.response == ""
        else:  # every turn the model speaks in is generated, ambient ones (false alarms) included
            assert sample.raw_output not in ("", NO_COMMENT)
            assert sample.raw_output.strip() == sample.response


def test_the_model_syntax_and_local_options_of_eval(tiny_model, dataset_dir, tmp_path):
    """A plain folder is the same model as hf:<folder> (the run resumes), --device/--dtype/--batch-size
    reach the local model, and local-only options are refused for a remote one."""
    first = EvalConfig(model=f"hf:{tiny_model}", data=dataset_dir, max_tokens=4, bootstrap=20, limit=1)
    run_eval(first, tmp_path / "run")
    plain = first.model_copy(update={"model": str(tiny_model), "limit": 2, "device": "cpu"})
    run_eval(plain.model_copy(update={"dtype": "float32", "batch_size": 1}), tmp_path / "run")
    results = read_results(tmp_path / "run")
    assert results.run.model == f"hf:{tiny_model}" and results.timings.cases_resumed == 1
    with pytest.raises(BehaviorBenchError, match="--device, --batch-size: for local models only"):
        run_eval(EvalConfig(model="openai:x", data=dataset_dir, device="cpu", batch_size=2), tmp_path / "r")
    with pytest.raises(BehaviorBenchError, match="float12.* not a torch dtype"):
        run_eval(first.model_copy(update={"dtype": "float12"}), tmp_path / "other")


def test_eval_over_http_against_serve_decides_as_the_local_run(
    tiny_model, dataset_dir, tmp_path, monkeypatch
):
    """`openai:` + --base-url against `behaviorbench serve`'s app gives the local fast path's turns; the
    key named by --api-key-env is what the server receives."""
    from loopback import running_server

    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    options = {"data": dataset_dir, "max_tokens": 4, "bootstrap": 20, "limit": 2}
    run_eval(EvalConfig(model=f"hf:{tiny_model}", **options), tmp_path / "local")
    app = create_app(HFBackend(str(tiny_model), device="cpu"), "tagged")
    keys = []

    @app.middleware("http")
    async def record_key(request, call_next):
        keys.append(request.headers.get("authorization"))
        return await call_next(request)

    monkeypatch.setenv("BB_TEST_KEY", "sk-local-test")
    with running_server(app) as url:
        remote = EvalConfig(model="openai:served", base_url=url, api_key_env="BB_TEST_KEY", **options)
        run_eval(remote, tmp_path / "served")
    local, _ = read_samples(tmp_path / "local")
    served, _ = read_samples(tmp_path / "served")
    assert len(local) == len(served) == 2 * SLOTS_PER_CASE
    pairs = list(zip(local, served, strict=True))
    assert all(a.status == b.status and a.predicted == b.predicted for a, b in pairs)
    ok = [(a, b) for a, b in pairs if a.status == "ok" and a.category is not None]
    assert ok and all(a.response == b.response for a, b in ok)
    assert keys and set(keys) == {"Bearer sk-local-test"}
