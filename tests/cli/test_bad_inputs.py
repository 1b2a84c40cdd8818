"""Bad input to every command: one `error:` line naming what is wrong, non-zero exit, no traceback,
and every input file byte-for-byte unchanged.

The commands run in-process through the real entry point (`behaviorbench.cli.main`), against one
shared tree of inputs whose files are hashed before and after each case.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reporting.run_factory import make_dataset, simulate, write_run

from behaviorbench.cli import main
from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.reader import load_cases
from behaviorbench.locks import folder_lock
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.reporting.hard import build_hard

UNREACHABLE = "http://127.0.0.1:9/v1"


@dataclass(frozen=True)
class World:
    root: Path

    def __getattr__(self, name: str) -> str:
        """`w.data` is the path of the input called `data`, as a command-line argument."""
        return str(self.root / INPUTS[name])


INPUTS = {
    "data": "data",
    "shard": "data/test/shard-00000.jsonl",
    "manifest": "data/manifest.json",
    "run": "runs/sft",
    "samples": "runs/sft/samples.jsonl",
    "results": "runs/sft/results.json",
    "dev": "runs/sft-dev",
    "other_dev": "runs/other-dev",
    "bad_run": "runs/not-utf8",
    "twice_run": "runs/written-twice",
    "hard": "hard",
    "nonutf8_jsonl": "not-utf8.jsonl",
    "nonutf8_data": "data-not-utf8",
    "escape_data": "data-escape",
    "tampered_data": "data-tampered",
    "stranger": "stranger",
    "shards_only": "shards-only",
    "a_file": "notes.txt",
    "no_weights": "models/no-weights",
    "bad_config": "models/bad-config",
    "no_tokenizer": "models/no-tokenizer",
    "tiny": "models/tiny",
    "raters": "raters.yaml",
    "nonutf8_raters": "raters-not-utf8.csv",
    "not_db": "study.sqlite",
    "nonutf8_config": "train-not-utf8.yaml",
    "locked": "locked-run",
    "fresh": "fresh",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("bad-inputs")
    data = make_dataset(root / "data", pairs=6)
    test, dev = load_cases(data, "test"), load_cases(data, "dev")
    sft = write_run(root / "runs/sft", simulate(test, 2.0, -0.8, seed=1), "behaviorsft", "test", data)
    write_run(root / "runs/sft-dev", simulate(dev, 2.0, -0.8, seed=3), "behaviorsft", "dev", data)
    write_run(root / "runs/other-dev", simulate(dev, 1.0, 0.0, seed=4), "another-model", "dev", data)
    bad_run = Path(shutil.copytree(sft, root / "runs/not-utf8"))
    with open(bad_run / "samples.jsonl", "ab") as handle:
        handle.write(b'{"case_id": "caf\xe9"}\n')
    twice = Path(shutil.copytree(sft, root / "runs/written-twice"))
    with open(twice / "samples.jsonl", "ab") as handle:
        handle.write((sft / "samples.jsonl").read_bytes().splitlines(keepends=True)[0])
    build_hard([sft], data, root / "hard", min_wrong=1, min_knobs=0)

    shard_text = (data / load_manifest(data).shards[0].path).read_bytes()
    (root / "not-utf8.jsonl").write_bytes(shard_text.splitlines(keepends=True)[0] + b'{"case_id": "\xff"}\n')
    broken = Path(shutil.copytree(data, root / "data-not-utf8"))
    (broken / load_manifest(broken).shards[0].path).write_bytes(b"\xff" + shard_text[1:])
    escape = Path(shutil.copytree(data, root / "data-escape"))
    manifest = json.loads((escape / "manifest.json").read_text())
    manifest["shards"][0]["path"] = "../../../../etc/passwd"
    (escape / "manifest.json").write_text(json.dumps(manifest, indent=2))
    tampered = Path(shutil.copytree(data, root / "data-tampered"))
    shard = tampered / load_manifest(tampered).shards[0].path
    shard.write_bytes(shard.read_bytes().replace(b"}\n", b"} \n", 1))  # still valid JSON, new hash

    (root / "stranger").mkdir()
    (root / "stranger/todo.txt").write_text("a user's notes")
    (root / "shards-only/test").mkdir(parents=True)
    (root / "shards-only/test/shard-00007.jsonl").write_text("a user's file")
    (root / "notes.txt").write_text("not a folder")

    tiny = make_tiny_model(root / "models/tiny")
    for name, damage in (("no-weights", "model.safetensors"), ("no-tokenizer", "tokenizer*")):
        copy = Path(shutil.copytree(tiny, root / "models" / name))
        for file in copy.glob(damage):
            file.unlink()
    bad_config = Path(shutil.copytree(tiny, root / "models/bad-config"))
    (bad_config / "config.json").write_text('{"model_type": "llama",\n  oops\n}')

    (root / "raters.yaml").write_text("- {id: r1, name: Ada}\n- {id: r2, name: Ben}\n")
    (root / "raters-not-utf8.csv").write_bytes(b"id,name\nr1,Ren\xe9e\n")
    (root / "study.sqlite").write_text("this is a text file, not a database\n")
    (root / "train-not-utf8.yaml").write_bytes(b"steps: 2\n# \xff\n")
    return World(root)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def invoke(args: list[str]) -> Outcome:
    """Run the real entry point in-process, as a shell would, capturing both streams."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue())


def hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@contextlib.contextmanager
def nothing(world: World) -> Iterator[None]:
    yield


@contextlib.contextmanager
def another_eval_running(world: World) -> Iterator[None]:
    with folder_lock(Path(world.locked), "run"):
        yield


EVAL = ["eval", "--model", "openai:m", "--base-url", UNREACHABLE, "--split", "test"]

# (id, arguments with {input} names filled from the world, fragments the error line must hold)
CASES: list[tuple[str, str, tuple[str, ...]]] = [
    # build
    ("build-cases-zero", "build --cases 0 --seed 1 --out {fresh}", ("--cases",)),
    ("build-cases-negative", "build --cases -3 --seed 1 --out {fresh}", ("--cases",)),
    ("build-cases-text", "build --cases many --seed 1 --out {fresh}", ("--cases",)),
    ("build-scenes-zero", "build --cases 2 --seed 1 --scenes 0 --out {fresh}", ("--scenes",)),
    ("build-workers-zero", "build --cases 2 --seed 1 --workers 0 --out {fresh}", ("--workers",)),
    ("build-seed-missing", "build --cases 2 --out {fresh}", ("--seed",)),
    ("build-out-is-file", "build --cases 2 --seed 1 --out {a_file}", ("notes.txt", "not a folder")),
    ("build-out-stranger", "build --cases 2 --seed 1 --out {stranger}", ("stranger", "manifest.json")),
    ("build-out-user-shards", "build --cases 2 --seed 1 --out {shards_only}", ("shards-only",)),
    ("build-out-other-dataset", "build --cases 2 --seed 1 --out {data}", ("manifest.json", "different")),
    # validate, show
    ("validate-missing", "validate {fresh}", ("fresh", "no such")),
    ("validate-not-utf8-file", "validate {nonutf8_jsonl}", ("not-utf8.jsonl",)),
    ("validate-escaping-manifest", "validate {escape_data}", ("data-escape",)),
    ("show-unknown-case", "show {data} --case nope", ("data", "nope")),
    ("show-not-utf8", "show {nonutf8_jsonl} --case x", ("not-utf8.jsonl:2", "byte", "UTF-8")),
    ("show-not-utf8-dataset", "show {nonutf8_data} --case x", ("shard-00000.jsonl:", "UTF-8")),
    # export, card
    ("export-onto-manifest", "export {data} --out {manifest}", ("--out", "manifest.json")),
    ("export-onto-shard", "export {data} --out {shard}", ("--out", "shard-00000.jsonl")),
    ("export-onto-dataset", "export {data} --out {data}", ("--out",)),
    ("export-format", "export {data} --format csv", ("--format", "csv")),
    ("export-style", "export {data} --style fancy", ("--style", "fancy")),
    ("export-not-utf8", "export {nonutf8_jsonl} --out {fresh}", ("not-utf8.jsonl:2", "UTF-8")),
    ("export-escaping-manifest", "export {escape_data}", ("manifest.json", "shards.0.path")),
    ("card-onto-manifest", "card {data} --out {manifest}", ("--out", "manifest.json")),
    ("card-not-a-dataset", "card {stranger}", ("stranger", "manifest.json")),
    ("card-escaping-manifest", "card {escape_data}", ("shards.0.path", "inside the dataset")),
    # eval
    ("eval-max-tokens", "--max-tokens -5 --data {data} --out {fresh}", ("--max-tokens",)),
    ("eval-timeout-zero", "--timeout 0 --data {data} --out {fresh}", ("--timeout",)),
    ("eval-timeout-nan", "--timeout nan --data {data} --out {fresh}", ("--timeout",)),
    ("eval-retries", "--retries -1 --data {data} --out {fresh}", ("--retries",)),
    ("eval-bias-inf", "--proactive-bias inf --data {data} --out {fresh}", ("--proactive-bias",)),
    ("eval-bias-nan", "--proactive-bias nan --data {data} --out {fresh}", ("--proactive-bias",)),
    ("eval-limit-zero", "--limit 0 --data {data} --out {fresh}", ("--limit",)),
    ("eval-concurrency", "--concurrency 0 --data {data} --out {fresh}", ("--concurrency",)),
    ("eval-out-is-data", "--data {data} --out {data}", ("--out", "data")),
    ("eval-out-is-file", "--data {data} --out {a_file}", ("notes.txt",)),
    ("eval-split", "--data {data} --out {fresh} --split nope", ("nope",)),
    ("eval-not-utf8-data", "--data {nonutf8_data} --out {fresh}", ("shard-00000.jsonl", "UTF-8")),
    ("eval-escaping-manifest", "--data {escape_data} --out {fresh}", ("shards.0.path",)),
    ("eval-second-writer", "--data {data} --out {locked}", ("locked-run", "another command")),
    ("eval-no-prefix", "eval --model gpt-4o --data {data} --out {fresh}", ("gpt-4o", "hf:")),
    (
        "eval-no-weights",
        "eval --model hf:{no_weights} --data {data} --out {fresh}",
        ("no-weights", "weights"),
    ),
    ("eval-bad-config", "eval --model hf:{bad_config} --data {data} --out {fresh}", ("config.json:", "JSON")),
    ("eval-no-tokenizer", "eval --model hf:{no_tokenizer} --data {data} --out {fresh}", ("tokenizer",)),
    (
        "eval-token-without-tokens",
        "eval --model hf:{tiny} --protocol token --data {data} --out {fresh}",
        ("token",),
    ),
    ("eval-protocol", "--protocol telepathy --data {data} --out {fresh}", ("telepathy",)),
    ("eval-price", "--price cheap --data {data} --out {fresh}", ("--price 'cheap'", "INPUT/OUTPUT")),
    (
        "eval-price-local",
        "eval --model hf:{tiny} --price 1/2 --data {data} --out {fresh}",
        ("--price", "openai:<model>"),
    ),
    (
        "eval-judge-price-without-judge",
        "--protocol free --judge-price 1/2 --data {data} --out {fresh}",
        ("--judge-price", "judge"),
    ),
    # score, report
    ("score-missing", "score {fresh}", ("fresh",)),
    ("score-bootstrap-zero", "score {run} --bootstrap 0", ("--bootstrap",)),
    ("score-not-utf8", "score {bad_run}", ("samples.jsonl", "UTF-8")),
    ("score-written-twice", "score {twice_run}", ("samples.jsonl:", "two evaluations")),
    ("report-written-twice", "report {twice_run} --out {fresh}", ("samples.jsonl:", "already at line")),
    ("report-out-under-file", "report {run} --out {a_file}/report.html", ("notes.txt",)),
    ("report-onto-samples", "report {run} --out {samples}", ("--out", "samples.jsonl")),
    ("report-onto-results", "report {run} --out {results}", ("--out", "results.json")),
    ("report-onto-run", "report {run} --out {run}", ("--out",)),
    ("report-bootstrap-zero", "report {run} --bootstrap 0 --out {fresh}", ("--bootstrap",)),
    ("report-examples", "report {run} --examples -1 --out {fresh}", ("--examples",)),
    ("report-format", "report {run} --format pdf --out {fresh}", ("pdf",)),
    # calibrate, hard
    ("calibrate-limit-nan", "calibrate {run} --dev {dev} --limit nan --out {fresh}", ("--limit",)),
    ("calibrate-step-tiny", "calibrate {run} --dev {dev} --step 1e-7 --out {fresh}", ("--step",)),
    ("calibrate-step-zero", "calibrate {run} --dev {dev} --step 0 --out {fresh}", ("--step",)),
    ("calibrate-other-model", "calibrate {run} --dev {other_dev} --out {fresh}", ("--dev", "model")),
    ("calibrate-out-is-file", "calibrate {run} --dev {dev} --out {a_file}", ("notes.txt",)),
    ("calibrate-into-run", "calibrate {run} --dev {dev} --out {run}", ("--out",)),
    ("hard-replaces-subset", "hard {run} --data {data} --out {hard}", ("hard", "--force")),
    ("hard-into-data", "hard {run} --data {data} --out {data}", ("--out",)),
    ("hard-min-wrong", "hard {run} --data {data} --out {fresh} --min-wrong 0", ("--min-wrong",)),
    ("hard-no-runs", "hard --data {data} --out {fresh}", ("--runs",)),
    # review
    (
        "review-create-port",
        "review create --runs {run} {dev} --raters {raters} --items 2 --out {fresh} --port 70000",
        ("--port",),
    ),
    (
        "review-create-items",
        "review create --runs {run} {dev} --raters {raters} --items 0 --out {fresh}",
        ("--items",),
    ),
    (
        "review-create-onto-raters",
        "review create --runs {run} {dev} --raters {raters} --items 2 --out {raters}",
        ("--out", "raters.yaml"),
    ),
    (
        "review-create-not-utf8-raters",
        "review create --runs {run} {dev} --raters {nonutf8_raters} --items 2 --out {fresh}",
        ("raters-not-utf8.csv", "UTF-8"),
    ),
    (
        "review-results-not-db",
        "review results {not_db} --out {fresh}",
        ("study.sqlite", "not a study database"),
    ),
    ("review-results-out-is-file", "review results {not_db} --out {a_file}", ("study.sqlite",)),
    ("review-results-bootstrap", "review results {not_db} --bootstrap 0", ("--bootstrap",)),
    ("review-serve-port", "review serve {not_db} --port 70000", ("--port",)),
    ("review-serve-host", "review serve {not_db} --host 0.0.0.0", ("--host", "--allow-remote")),
    # serve, chat
    ("serve-port", "serve --model hf:{tiny} --port 70000", ("--port",)),
    ("serve-device", "serve --model hf:{tiny} --device tpu9", ("--device", "tpu9")),
    ("serve-host", "serve --model hf:{tiny} --host 8.8.8.8", ("--host", "--allow-remote")),
    ("serve-bias-nan", "serve --model hf:{tiny} --proactive-bias nan", ("--proactive-bias",)),
    ("serve-remote-model", "serve --model openai:gpt", ("--model",)),
    ("chat-proactivity-inf", "chat --model {tiny} --proactivity inf", ("--proactivity",)),
    ("chat-max-tokens", "chat --model {tiny} --max-tokens 0", ("--max-tokens",)),
    # train
    ("train-config-folder", "train --out {fresh} --config {data}", ("data", "folder")),
    (
        "train-config-not-utf8",
        "train --out {fresh} --config {nonutf8_config}",
        ("train-not-utf8.yaml:2", "UTF-8"),
    ),
    ("train-steps-zero", "train --out {fresh} --data {data} --steps 0", ("--steps",)),
    ("train-lr-nan", "train --out {fresh} --data {data} --lr nan", ("--lr",)),
    ("train-lr-negative", "train --out {fresh} --data {data} --lr -1", ("--lr",)),
    ("train-batch-size", "train --out {fresh} --data {data} --batch-size 0", ("--batch-size",)),
    ("train-tampered-shard", "train --out {fresh} --data {tampered_data}", ("shard-00000.jsonl", "sha256")),
    ("train-escaping-manifest", "train --out {fresh} --data {escape_data}", ("shards.0.path",)),
    ("train-out-is-file", "train --out {a_file} --data {data}", ("notes.txt", "not a folder")),
    ("train-into-data", "train --out {data} --data {data}", ("--out",)),
    # the command line itself
    ("unknown-command", "frobnicate", ("frobnicate",)),
    ("unknown-option", "validate {data} --colour", ("--colour",)),
]


@pytest.mark.parametrize(("args", "fragments"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_touches_nothing(world: World, args: str, fragments: tuple[str, ...]):
    words = args.split()
    if words[0].startswith("--"):
        words = EVAL + words
    argv = [word.format(**{name: getattr(world, name) for name in INPUTS}) for word in words]
    guard = another_eval_running if "{locked}" in args else nothing
    before = hashes(world.root)
    with guard(world):
        outcome = invoke(argv)
    assert outcome.code != 0, outcome
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr + outcome.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert hashes(world.root) == before
    assert not (world.root / "fresh").exists() or not any((world.root / "fresh").iterdir())


def test_there_are_at_least_sixty_distinct_bad_inputs():
    assert len({case[0] for case in CASES}) == len(CASES) >= 60
    assert len({case[1] for case in CASES}) == len(CASES)
