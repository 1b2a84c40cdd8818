"""Evaluate a model on every slot of a split: designated slots for behavior F1, ambient ones for false alarms.

Local models with protocol token or tagged decide a whole case in one forward pass
(`LocalBackend.decide_case`); everything else completes one prompt per slot, concurrently, through
a persistent response cache. Samples are appended one case at a time and fsynced, so a killed run
loses at most the cases in flight and a rerun picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from behaviorbench.conversation import assistant_turn
from behaviorbench.dataset.manifest import dataset_fingerprint, load_manifest
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.dataset.validate import validate_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.cache import ResponseCache, cache_key
from behaviorbench.evaluation.checks import check_marks, check_numbers
from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.content import check_content
from behaviorbench.evaluation.metrics import score_samples
from behaviorbench.evaluation.protocols import (
    STYLE_OF,
    check_protocol,
    judge_prompt,
    parse_judge,
    read_reply,
    rule_behavior,
    slot_prompt,
)
from behaviorbench.evaluation.records import Sample
from behaviorbench.evaluation.results import (
    RESULTS_FILE,
    SAMPLES_FILE,
    RunIdentity,
    RunResults,
    Timings,
    append_samples,
    check_run_dir,
    git_commit,
    package_versions,
    read_identity,
    read_results,
    read_samples,
    rewrite_samples,
    write_identity,
    write_results,
)
from behaviorbench.evaluation.summary import print_summary
from behaviorbench.evaluation.usage import TokenUsage, run_cost
from behaviorbench.locks import folder_lock
from behaviorbench.models import ModelSpec, parse_model_spec
from behaviorbench.models.base import Backend, GenerationParams, LocalBackend, SlotDecision
from behaviorbench.models.errors import BackendError, BackendUnreachable
from behaviorbench.outputs import dataset_inputs, refuse_input_as_output
from behaviorbench.prompts import prompt_hash
from behaviorbench.schema import Case, ImageAttachment, Slot
from behaviorbench.taxonomy import Behavior, Category

DECISION_TOKENS = 8
"""Reply length asked of a remote model when no response is wanted (--no-generate): the tag alone."""
JUDGE_PARAMS = GenerationParams(max_tokens=8, temperature=0.0, seed=0)
DEFAULT_BATCH = 8
"""Responses generated together from a case's KV cache when --batch-size is not given."""


def run_eval(config: EvalConfig, out_dir: Path, console: Console | None = None) -> Path:
    """Evaluate `config.model` on `config.split` of `config.data` into `out_dir` (see `_run_eval`),
    holding `out_dir`'s lock so that a second evaluation into it is refused instead of interleaved."""
    with folder_lock(Path(out_dir), "run"):
        return _run_eval(config, Path(out_dir), console)


def _run_eval(config: EvalConfig, out_dir: Path, console: Console | None = None) -> Path:
    """Evaluate `config.model` on `config.split` of `config.data` into `out_dir`; returns results.json.

    Resumes a run of the same identity in `out_dir` and refuses one of any other; every check
    runs before anything is written. The metrics cover every sample in the run directory.
    """
    data_dir, out_dir = Path(config.data), Path(out_dir)
    console = console or Console()
    spec = parse_model_spec(config.model)
    judge_spec = parse_model_spec(config.judge) if config.judge else None
    _check_options(config, spec)
    check_numbers(
        max_tokens=config.max_tokens,
        timeout=config.timeout,
        retries=config.retries,
        proactive_bias=config.proactive_bias,
    )
    refuse_input_as_output(out_dir, [data_dir, *dataset_inputs(data_dir)])
    problems = validate_dataset(data_dir)
    if problems:
        more = f" (+{len(problems) - 1} more; see `behaviorbench validate`)" if len(problems) > 1 else ""
        raise BehaviorBenchError(f"dataset fails validation: {problems[0]}{more}")
    manifest = load_manifest(data_dir)
    split = config.split
    if split not in manifest.splits:
        available = ", ".join(manifest.splits) or "none"
        raise BehaviorBenchError(f"{data_dir}: no split {split!r} in this dataset; available: {available}")
    params = GenerationParams(max_tokens=config.max_tokens, temperature=0.0, seed=config.seed)
    identity = RunIdentity(
        model=str(spec),
        protocol=config.protocol,
        dataset_fingerprint=dataset_fingerprint(data_dir),
        split=split,
        judge=str(judge_spec) if judge_spec else None,
        seed=config.seed,
        max_tokens=config.max_tokens,
        temperature=params.temperature,
        proactive_bias=config.proactive_bias,
        generate=config.generate,
    )
    check_run_dir(out_dir, identity)
    cases = list(iter_cases(data_dir, split))[: config.limit]
    scored_tasks = None if manifest.scored_tasks is None else frozenset(manifest.scored_tasks)
    if scored_tasks is not None:
        console.print(
            f"{data_dir}: the manifest selects {len(scored_tasks):,} tasks to score; "
            "other designated slots are context only"
        )

    backend = _backend(spec, config, config.base_url, multimodal=config.multimodal)
    check_marks(backend, config.protocol)
    judge_backend = _backend(judge_spec, config, config.judge_base_url) if judge_spec else None

    write_identity(out_dir, identity)
    previous = _resume(out_dir, {c.case_id: [s.index for s in scored_slots(c, scored_tasks)] for c in cases})
    done = {s.case_id for s in previous}
    pending = [case for case in cases if case.case_id not in done]

    started, clock = datetime.now(timezone.utc), time.perf_counter()
    evaluator = _Evaluator(
        backend,
        judge_backend,
        config.protocol,
        data_dir,
        params,
        config.proactive_bias,
        config.generate,
        config.concurrency,
        scored_tasks,
    )
    try:
        new = asyncio.run(evaluator.run(pending, out_dir, console))
    finally:
        evaluator.cache.close()
    seconds = time.perf_counter() - clock

    samples = previous + new
    scores = score_samples(samples, n_bootstrap=config.bootstrap, seed=config.seed)
    earlier = read_results(out_dir) if (out_dir / RESULTS_FILE).is_file() else None
    usage = _usage(backend, earlier.usage if earlier else None)
    judge_usage = _usage(judge_backend, earlier.judge_usage if earlier else None) if judge_backend else None
    results = RunResults(
        run=identity,
        dataset_dir=str(data_dir),
        generator_version=manifest.generator_version,
        limit=None if config.limit is None else len({s.case_id for s in samples}),
        git_commit=git_commit(),
        versions=package_versions(),
        timings=Timings(
            started=started.isoformat(timespec="seconds"),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            seconds=round(seconds, 3),
            cases=len(pending),
            cases_resumed=len(cases) - len(pending),
            cases_per_second=round(len(pending) / seconds, 3) if pending and seconds > 0 else None,
            cache_hits=evaluator.cache.hits,
            cache_misses=evaluator.cache.misses,
        ),
        metrics=scores,
        usage=usage,
        judge_usage=judge_usage,
        cost=run_cost(config.model, config.base_url, usage, config.price),
        judge_cost=(
            run_cost(config.judge, config.judge_base_url, judge_usage, config.judge_price)
            if config.judge
            else None
        ),
    )
    path = write_results(out_dir, results)
    print_summary(console, scores, f"{identity.model} · {config.protocol} · {split}")
    return path


def _usage(backend: Backend, earlier: TokenUsage | None) -> TokenUsage | None:
    """Tokens an API model reported in this invocation plus those of the run it resumed."""
    from behaviorbench.models.openai_api import OpenAIBackend

    return backend.usage.plus(earlier) if isinstance(backend, OpenAIBackend) else None


def _backend(spec: ModelSpec, config: EvalConfig, base_url: str | None, multimodal: bool = False) -> Backend:
    """The model (or judge) of a spec with the options of its kind."""
    if spec.kind == "hf":
        if base_url is not None:
            raise BehaviorBenchError(f"model '{spec}': --base-url is for openai:<model> specs only")
        from behaviorbench.models.hf import HFBackend

        return HFBackend(
            spec.name, device=config.device, dtype=config.dtype, batch_size=config.batch_size or DEFAULT_BATCH
        )
    from behaviorbench.models.openai_api import OpenAIBackend

    return OpenAIBackend(
        spec.name,
        base_url=base_url,
        api_key_env=config.api_key_env,
        concurrency=config.concurrency,
        timeout=config.timeout,
        max_retries=config.retries,
        multimodal=multimodal,
    )


def _check_options(config: EvalConfig, spec: ModelSpec) -> None:
    local = spec.kind == "hf"
    protocol, judge = config.protocol, config.judge
    check_protocol(protocol, local=local)
    # A local model without a judge decides 'free' from its logits; otherwise the reply is needed.
    reads_reply = protocol == "free" and (judge is not None or not local)
    if reads_reply and not config.generate:
        raise BehaviorBenchError("--no-generate: protocol 'free' reads the behavior from the reply itself")
    if judge and protocol != "free":
        raise BehaviorBenchError(f"--judge: only protocol 'free' uses a judge, not '{protocol}'")
    for option, value in (
        ("--concurrency", config.concurrency),
        ("--limit", config.limit),
        ("--max-tokens", config.max_tokens),
        ("--batch-size", config.batch_size),
        ("--bootstrap", config.bootstrap),
        ("--timeout", config.timeout),
    ):
        if value is not None and value <= 0:
            raise BehaviorBenchError(f"{option} {value}: must be positive")
    if config.retries < 0:
        raise BehaviorBenchError(f"--retries {config.retries}: must be 0 or more")
    if config.proactive_bias and reads_reply or config.proactive_bias and not local:
        raise BehaviorBenchError(
            "--proactive-bias shifts the proactive logit: it needs a local model (hf:...) "
            "deciding from its logits (any protocol but 'free' with a judge)"
        )
    local_only = {"--device": config.device, "--dtype": config.dtype, "--batch-size": config.batch_size}
    given = [option for option, value in local_only.items() if value is not None]
    if given and not local:
        raise BehaviorBenchError(f"{', '.join(given)}: for local models only, not '{config.model}'")
    if config.multimodal and local:
        raise BehaviorBenchError(f"--multimodal: for openai:<model> specs only, not '{config.model}'")
    if config.price is not None and local:
        raise BehaviorBenchError(f"--price: for openai:<model> specs only, not '{config.model}'")
    if config.judge_price is not None and not (judge and parse_model_spec(judge).kind == "openai"):
        raise BehaviorBenchError(f"--judge-price: for an openai:<model> judge only, not '{judge}'")


def _resume(out_dir: Path, slots_of: dict[str, list[int]]) -> list[Sample]:
    """Samples of the cases a previous run finished; anything partial is removed from the file.

    `slots_of` gives each case's scored slot indices; a case outside it (beyond a smaller
    --limit) is kept as it is.
    """
    samples, intact = read_samples(out_dir)
    by_case: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_case[sample.case_id].append(sample)
    complete = {
        case_id
        for case_id, found in by_case.items()
        if sorted(s.slot for s in found) == slots_of.get(case_id, sorted(s.slot for s in found))
        # a failed call is tried again (unless its case is beyond a smaller --limit)
        and (case_id not in slots_of or not any(s.status == "errored" for s in found))
    }
    kept = [s for s in samples if s.case_id in complete]
    path = out_dir / SAMPLES_FILE
    if len(kept) != len(samples) or (path.is_file() and intact != path.stat().st_size):
        rewrite_samples(out_dir, kept)
    return kept


def scored_slots(case: Case, scored_tasks: frozenset[str] | None) -> list[Slot]:
    """Every slot, unless the dataset names its scored tasks: then the other designated slots
    stay in the conversation as context but are neither asked nor scored."""
    if scored_tasks is None:
        return case.slots
    return [s for s in case.slots if not s.designated or s.task_id in scored_tasks]


def has_content(slot: Slot) -> bool:
    """Whether a slot's gold reply carries content to check (a reactive control's target scores
    the control's own answer, so controls are checked too)."""
    return slot.target is not None and slot.designated and slot.gold_behavior is not Behavior.silent


def needs_image(slot: Slot) -> bool:
    return slot.category is Category.image_reasoning


def sample_of(case: Case, slot: Slot, **fields) -> Sample:
    return Sample(
        case_id=case.case_id,
        slot=slot.index,
        split=case.split,
        category=slot.category,
        group=slot.group,
        task_id=slot.task_id,
        control_of=slot.control_of,
        gold_behavior=slot.gold_behavior,
        **fields,
    )


class _Evaluator:
    """Turns cases into samples with one backend (and maybe a judge), appending them case by case."""

    def __init__(
        self,
        backend: Backend,
        judge: Backend | None,
        protocol: str,
        data_dir: Path,
        params: GenerationParams,
        proactive_bias: float,
        generate: bool,
        concurrency: int,
        scored_tasks: frozenset[str] | None = None,
    ):
        self.backend, self.judge, self.protocol, self.data_dir = backend, judge, protocol, data_dir
        self.scored_tasks = scored_tasks
        self.params = params if generate else dataclasses.replace(params, max_tokens=DECISION_TOKENS)
        self.proactive_bias, self.generate, self.concurrency = proactive_bias, generate, concurrency
        self.cache = ResponseCache()

    async def run(self, cases: list[Case], out_dir: Path, console: Console) -> list[Sample]:
        samples: list[Sample] = []
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        progress = Progress(*columns, console=Console(stderr=True), transient=False)
        try:
            with progress, open(out_dir / SAMPLES_FILE, "a", encoding="utf-8") as handle:
                task = progress.add_task("cases", total=len(cases), rate="")

                def finished(case_samples: list[Sample]) -> None:
                    append_samples(handle, case_samples)
                    samples.extend(case_samples)
                    progress.advance(task)
                    speed = progress.tasks[0].speed
                    progress.update(task, rate=f"{speed:.2f} cases/s" if speed else "")

                if isinstance(self.backend, LocalBackend) and (self.protocol != "free" or self.judge is None):
                    for case in cases:
                        finished(self._decide_case(case))
                else:
                    await self._complete_cases(cases, finished)
        finally:
            await self.backend.aclose()
            if self.judge is not None:
                await self.judge.aclose()
        return samples

    # -- local fast path -------------------------------------------------------------------------

    def _decide_case(self, case: Case) -> list[Sample]:
        assert isinstance(self.backend, LocalBackend)
        slots = scored_slots(case, self.scored_tasks)
        wanted = [s.index for s in slots if self.backend.multimodal or not needs_image(s)]
        decisions: dict[int, SlotDecision] = {}
        failure = None
        try:
            # Every slot where the model speaks gets its response, ambient ones included: a false
            # alarm is shown with what the model said (only designated responses are content-checked).
            for decision in self.backend.decide_case(
                case, STYLE_OF[self.protocol], wanted, self.params, self.proactive_bias, self.generate
            ):
                decisions[decision.slot] = decision
        except BackendError as error:
            failure = str(error)
        samples = []
        for slot in slots:
            if slot.index not in wanted:
                samples.append(self._not_applicable(case, slot))
            elif failure is not None:
                samples.append(self._errored(case, slot, failure, ""))
            else:
                d = decisions[slot.index]
                samples.append(
                    sample_of(
                        case,
                        slot,
                        predicted=d.behavior,
                        status="ok" if d.behavior is not None else "invalid",
                        probabilities=d.probabilities,
                        raw_output=d.raw_output,
                        response=d.response,
                        prompt_hash=d.prompt_hash,
                        **self._content(slot, d.response),
                    )
                )
        return samples

    # -- one completion per slot ----------------------------------------------------------------

    async def _complete_cases(self, cases: list[Case], finished) -> None:
        queue: asyncio.Queue[Case] = asyncio.Queue()
        for case in cases:
            queue.put_nowait(case)
        calls = asyncio.Semaphore(self.concurrency)

        async def worker() -> None:
            while not queue.empty():
                case = queue.get_nowait()
                images = await asyncio.to_thread(self._images, case) if self.backend.multimodal else None
                slots = scored_slots(case, self.scored_tasks)
                finished(await asyncio.gather(*(self._complete_slot(case, s, images, calls) for s in slots)))

        workers = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(cases)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _images(self, case: Case) -> dict[str, Path]:
        """Every image of the case rendered to a PNG file (multimodal models get them inline)."""
        from behaviorbench.generation.ecg import materialize_image

        return {
            a.path: materialize_image(self.data_dir, a)
            for u in case.utterances
            for a in u.attachments
            if isinstance(a, ImageAttachment)
        }

    async def _call(self, backend: Backend, messages: list[dict], params: GenerationParams, calls) -> str:
        """A completion through the cache (remote models only: a local folder may be retrained in place)."""
        cached = not isinstance(backend, LocalBackend)
        key = cache_key(backend.model_id, messages, params)
        if cached and (reply := self.cache.get(key)) is not None:
            return reply
        async with calls:
            reply = await backend.complete(messages, params)
        if cached:
            self.cache.put(key, reply)
        return reply

    async def _complete_slot(self, case: Case, slot: Slot, images, calls) -> Sample:
        if needs_image(slot) and not self.backend.multimodal:
            return self._not_applicable(case, slot)
        messages = slot_prompt(case, slot, self.protocol, images)
        hashed = prompt_hash(messages)
        try:
            reply = await self._call(self.backend, messages, self.params, calls)
        except BackendUnreachable:
            raise
        except BackendError as error:
            return self._errored(case, slot, str(error), hashed)
        judged_gold = None
        if self.protocol != "free":
            behavior, response = read_reply(reply, self.protocol)
            error = None if behavior is not None else "reply starts with no behavior tag"
        elif self.judge is None:
            behavior, response, error = rule_behavior(reply, case, slot), reply.strip(), None
        else:
            response = reply.strip()
            try:
                answer = await self._call(self.judge, judge_prompt(case, slot, reply), JUDGE_PARAMS, calls)
                if slot.designated:
                    gold = assistant_turn(slot, "plain")
                    judged = await self._call(self.judge, judge_prompt(case, slot, gold), JUDGE_PARAMS, calls)
                    judged_gold = parse_judge(judged)
            except BackendUnreachable:
                raise
            except BackendError as failure:
                return self._errored(case, slot, f"judge: {failure}", hashed, raw_output=reply)
            behavior = parse_judge(answer)
            error = None if behavior is not None else f"judge answered {' '.join(answer.split())[:80]!r}"
        return sample_of(
            case,
            slot,
            predicted=behavior,
            status="ok" if behavior is not None else "invalid",
            raw_output=reply,
            response=response,
            prompt_hash=hashed,
            error=error,
            judged_gold=judged_gold,
            **self._content(slot, response),
        )

    # -- sample helpers -------------------------------------------------------------------------

    def _content(self, slot: Slot, response: str) -> dict:
        """Content check fields, when responses are generated, for slots whose gold reply has content."""
        if not (self.generate and has_content(slot)):
            return {}
        passed, score = check_content(slot.target, response)
        return {"content_pass": passed, "content_score": score}

    def _errored(self, case: Case, slot: Slot, error: str, hashed: str, raw_output: str = "") -> Sample:
        return sample_of(
            case,
            slot,
            predicted=None,
            status="errored",
            raw_output=raw_output,
            prompt_hash=hashed,
            error=error,
            **self._content(slot, ""),
        )

    def _not_applicable(self, case: Case, slot: Slot) -> Sample:
        return sample_of(
            case,
            slot,
            predicted=None,
            status="not_applicable",
            prompt_hash="",
            error="image slot: the model is text-only",
        )


def rescore(run_dir: Path, n_bootstrap: int = 1000, seed: int | None = None) -> RunResults:
    """Recompute every metric from samples.jsonl alone and rewrite results.json's metrics."""
    run_dir = Path(run_dir)
    identity = read_identity(run_dir)
    samples, _ = read_samples(run_dir)
    if not samples:
        raise BehaviorBenchError(f"{run_dir / SAMPLES_FILE}: no samples to score")
    scores = score_samples(samples, n_bootstrap=n_bootstrap, seed=identity.seed if seed is None else seed)
    if (run_dir / RESULTS_FILE).is_file():
        results = read_results(run_dir).model_copy(update={"metrics": scores})
    else:  # the run was stopped before its end: provenance is unknown, the samples are not
        results = RunResults(
            run=identity,
            dataset_dir=None,
            generator_version=None,
            limit=None,
            git_commit=None,
            versions=package_versions(),
            timings=None,
            metrics=scores,
        )
    write_results(run_dir, results)
    return results
