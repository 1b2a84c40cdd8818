"""The inspect_ai task: run by inspect with its mock provider and against `serve` over HTTP, its
metrics equal the harness's on the same slots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

from behaviorbench.conversation import addresses_assistant  # noqa: E402
from behaviorbench.dataset.build import build_dataset  # noqa: E402
from behaviorbench.dataset.reader import load_cases  # noqa: E402
from behaviorbench.evaluation.content import check_content  # noqa: E402
from behaviorbench.evaluation.metrics import score_samples  # noqa: E402
from behaviorbench.evaluation.protocols import read_reply, slot_prompt  # noqa: E402
from behaviorbench.evaluation.results import read_results, read_samples  # noqa: E402
from behaviorbench.evaluation.runner import has_content, needs_image, sample_of  # noqa: E402
from behaviorbench.inspect_task import behaviorbench, flat_scores  # noqa: E402
from behaviorbench.taxonomy import Category  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inspect") / "data"
    build_dataset(out, cases=40, seed=3, scenes=2)
    return out


def rule_reply(prompt: list[dict], names: list[str]) -> str:
    """A stand-in model: answers when named, flags doses, otherwise stays silent."""
    last = prompt[-1]["content"]
    if addresses_assistant(last, names):
        return "[REACTIVE] Atrial fibrillation; potassium is high; give 1000 mg."
    if " mg" in last:
        return "[PROACTIVE] That dose looks wrong."
    return "[SILENT]" if "," in last else "I am not sure."


def test_mock_provider_scores_like_the_harness(data_dir: Path, tmp_path: Path):
    cases = load_cases(data_dir, "test")[:3]
    names = {case.case_id: case.assistant_names for case in cases}
    prompts_seen: list[list[dict]] = []

    def reply(messages, tools, tool_choice, config) -> ModelOutput:
        prompt = [{"role": m.role, "content": m.text} for m in messages]
        prompts_seen.append(prompt)
        case_id = next(c for c, n in names.items() if all(x in prompt[0]["content"] for x in n))
        output = ModelOutput.from_content("mockllm", rule_reply(prompt, names[case_id]))
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tokenizer download
        return output

    model = get_model("mockllm/model", custom_outputs=reply)
    task = behaviorbench(data=str(data_dir), split="test", protocol="tagged", limit=3)
    log = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")[0]
    assert log.status == "success", log.error

    # The harness on the same designated slots, replies from the same rule.
    expected = []
    for case in cases:
        for slot in case.slots:
            if not slot.designated:
                continue
            if needs_image(slot):
                expected.append(
                    sample_of(case, slot, predicted=None, status="not_applicable", prompt_hash="")
                )
                continue
            prompt = slot_prompt(case, slot, "tagged")
            assert prompt in prompts_seen  # the conversation so far, exactly as eval renders it
            behavior, response = read_reply(rule_reply(prompt, case.assistant_names), "tagged")
            content = {}
            if has_content(slot):
                passed, score = check_content(slot.target, response)
                content = {"content_pass": passed, "content_score": score}
            expected.append(
                sample_of(
                    case,
                    slot,
                    predicted=behavior,
                    status="ok" if behavior else "invalid",
                    prompt_hash="",
                    **content,
                )
            )
    assert len(log.samples) == len(expected) == sum(s.designated for c in cases for s in c.slots)
    assert len(prompts_seen) == sum(s.status != "not_applicable" for s in expected)
    want = {k: v for k, v in flat_scores(score_samples(expected, n_bootstrap=0)).items() if v is not None}
    got = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    assert got == pytest.approx(want)
    assert {"macro_f1", "proactive_f1", "proactive_group_score", "content_accuracy"} <= set(got)
    assert 0 < got["macro_f1"] < 1 and got["invalid"] > 0
    if any(s.category is Category.image_reasoning for s in expected):
        assert got["not_applicable"] > 0


def test_image_slots_carry_the_strip_or_are_not_applicable(data_dir: Path):
    from inspect_ai.model import ContentImage

    cases = load_cases(data_dir, "train")
    first = next(
        i for i, c in enumerate(cases) if any(s.category is Category.image_reasoning for s in c.slots)
    )
    ids = {
        f"{cases[first].case_id}/{s.index}"
        for s in cases[first].slots
        if s.category is Category.image_reasoning
    }
    text_only = {s.id: s for s in behaviorbench(data=str(data_dir), split="train", limit=first + 1).dataset}
    assert all(text_only[i].metadata["not_applicable"] for i in ids)
    assert sum(s.metadata["not_applicable"] for s in text_only.values()) == len(
        [s for c in cases[: first + 1] for s in c.slots if s.category is Category.image_reasoning]
    )
    task = behaviorbench(data=str(data_dir), split="train", limit=first + 1, multimodal=True)
    seeing = {s.id: s for s in task.dataset}
    for i in ids:
        assert not seeing[i].metadata["not_applicable"]
        images = [
            part
            for message in seeing[i].input
            if not isinstance(message.content, str)
            for part in message.content
            if isinstance(part, ContentImage)
        ]
        assert images and all(p.image.startswith("data:image/png;base64,") for p in images)


def test_bad_task_arguments_are_one_clear_error(data_dir: Path):
    from behaviorbench.errors import BehaviorBenchError

    with pytest.raises(BehaviorBenchError, match="no split 'validation'.*available"):
        behaviorbench(data=str(data_dir), split="validation")
    with pytest.raises(BehaviorBenchError, match="protocol 'fancy'"):
        behaviorbench(data=str(data_dir), protocol="fancy")


def loud_tiny_model(directory: Path) -> Path:
    """A tiny random model with its weights scaled up: at the usual scale every greedy reply is
    the same run of newlines; scaled, replies differ from slot to slot."""
    import torch
    from transformers import AutoModelForCausalLM

    from behaviorbench.models.tiny import make_tiny_model

    make_tiny_model(directory)
    model = AutoModelForCausalLM.from_pretrained(directory)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 2:
                weight.mul_(20)
    model.save_pretrained(directory)
    return directory


def test_serve_over_http_gives_eval_s_metrics(data_dir: Path, tmp_path: Path, monkeypatch):
    """`inspect eval` with its OpenAI-compatible provider and `behaviorbench eval` with openai:,
    both against `behaviorbench serve` on a tiny random model: the same records, the same scores."""
    from loopback import running_server

    from behaviorbench.cli import main
    from behaviorbench.models.hf import HFBackend
    from behaviorbench.models.server import create_app

    monkeypatch.setenv("BEHAVIORBENCH_CACHE", str(tmp_path / "cache"))
    backend = HFBackend(str(loud_tiny_model(tmp_path / "tiny")), device="cpu")
    with running_server(create_app(backend, "tagged")) as url:
        model = get_model("openai-api/bb/tiny", base_url=url, api_key="not-needed")
        task = behaviorbench(data=str(data_dir), protocol="free", limit=2, ambient=True, max_tokens=6)
        log = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")[0]
        argv = ["behaviorbench", "eval", "--model", "openai:tiny", "--base-url", url, "--data", data_dir]
        argv += ["--protocol", "free", "--limit", "2", "--max-tokens", "6", "--out", tmp_path / "run"]
        monkeypatch.setattr(sys, "argv", [str(a) for a in argv])
        with pytest.raises(SystemExit) as exit:
            main()
        assert exit.value.code in (0, None)
    assert log.status == "success", log.error

    def key(record: dict) -> tuple:
        return (record["case_id"], record["slot"])

    fields = ("predicted", "status", "raw_output", "response", "content_pass", "content_score")
    from_eval = {key(s.model_dump(mode="json")): s for s in read_samples(tmp_path / "run")[0]}
    from_inspect = {key(r): r for r in (s.scores["behavior_scorer"].metadata["record"] for s in log.samples)}
    assert from_inspect.keys() == from_eval.keys()
    for k, record in from_inspect.items():
        assert {f: record[f] for f in fields} == from_eval[k].model_dump(mode="json", include=set(fields))
    scores = score_samples(list(from_eval.values()), n_bootstrap=0)
    want = {k: v for k, v in flat_scores(scores).items() if v is not None}
    got = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    assert got == pytest.approx(want)
    assert "false_alarm_rate" in got  # ambient slots asked too
    assert len({r["predicted"] for r in from_inspect.values()}) > 1
    # Both sent the same prompts to the same server: the same tokens, counted from its `usage`.
    usage = read_results(tmp_path / "run").usage
    counted = log.stats.model_usage["openai-api/bb/tiny"]
    assert usage.requests == len(from_eval)
    assert (usage.prompt_tokens, usage.completion_tokens) == (counted.input_tokens, counted.output_tokens)
    assert usage.prompt_tokens > usage.requests


def test_entry_point_lets_inspect_find_the_task(data_dir: Path, tmp_path: Path):
    """The entry point pyproject.toml declares, installed as package metadata, is what `inspect`
    loads for `behaviorbench/behaviorbench` (the task listed without a file path)."""
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["inspect_ai"]
    dist = tmp_path / "site" / "behaviorbench_inspect-0.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: behaviorbench-inspect\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "[inspect_ai]\n" + "".join(f"{name} = {target}\n" for name, target in declared.items())
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "site"),  # the package itself comes from its installed metadata
        "HF_HUB_OFFLINE": "1",
    }
    code = (
        "import sys\n"
        "from inspect_ai import eval\n"
        "from inspect_ai.model import ModelOutput, ModelUsage, get_model\n"
        "def reply(*args):\n"
        "    out = ModelOutput.from_content('mockllm', '[SILENT]')\n"
        "    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)\n"
        "    return out\n"
        "log = eval('behaviorbench/behaviorbench', model=get_model('mockllm/model', custom_outputs=reply),\n"
        "           task_args={'data': sys.argv[1], 'limit': 1}, log_dir=sys.argv[2], display='none')[0]\n"
        "print(json.dumps([log.status, log.eval.task, len(log.samples)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + code, str(data_dir), str(tmp_path / "logs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    status, name, samples = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == "success" and name.endswith("behaviorbench") and samples > 0
