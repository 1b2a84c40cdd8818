"""Behavior decisions per second: the one-pass fast path against a per-slot generate() loop.

Both decide the same slots of the same generated cases with SmolLM2-135M-Instruct in the tagged
protocol. The per-slot loop is what a harness without the fast path does: build each slot's
prompt, run `generate()` on it for a few tokens until the tag shows the behavior. The machine's
fp32 matmul rate is measured in the same run, so the fast path's forward rate can be read as a
fraction of it (`roofline`).

    python bench/eval_speed.py --cases 8 --scenes 4

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def matmul_flops(device: str, size: int = 2048, repeats: int = 8) -> float:
    """Sustained fp32 FLOP/s of square matmuls on `device`."""
    import torch

    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def per_slot_loop(backend, cases, slots_of, stride: int, max_new_tokens: int = 3):
    """Decisions from `generate()` on each slot's own prompt; returns ({(case, slot): behavior}, seconds)."""
    import torch
    from rich.progress import track

    from behaviorbench.conversation import case_messages

    marks = backend.marks("tagged")
    by_token = {token: behavior for behavior, token in marks.decision.items()}
    work = [(i, slot) for i, case in enumerate(cases) for slot in slots_of[i][::stride]]
    decisions = {}
    started = time.perf_counter()
    for i, slot in track(work, description="per-slot generate()"):
        ids = backend.encode(backend.prompt_text(case_messages(cases[i], "tagged", upto=slot)))
        input_ids = torch.tensor([ids], device=backend.device)
        with torch.inference_mode():
            output = backend.model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=backend.tokenizer.pad_token_id,
            )
        new = output[0, len(ids) :].tolist()
        prefix = len(marks.prefix)
        decided = new[prefix] if new[:prefix] == marks.prefix and len(new) > prefix else None
        decisions[(i, slot)] = by_token.get(decided)
    return decisions, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--scenes", type=int, default=4, help="scenes per case (0: full-length cases)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--max-tokens", type=int, default=32, help="response length when generating")
    parser.add_argument(
        "--baseline-stride", type=int, default=1, help="time the per-slot loop on every N-th slot only"
    )
    args = parser.parse_args()

    import torch
    from rich.progress import track

    from behaviorbench.generation import generate_case
    from behaviorbench.models.base import GenerationParams
    from behaviorbench.models.hf import HFBackend
    from behaviorbench.taxonomy import Behavior

    backend = HFBackend(args.model, device=args.device)
    cases = [generate_case(args.seed, i, scenes=args.scenes or None) for i in range(args.cases)]
    slots_of = [list(range(len(case.slots))) for case in cases]
    n_slots = sum(map(len, slots_of))
    params = GenerationParams(max_tokens=args.max_tokens)
    n_params = sum(p.numel() for p in backend.model.parameters())
    print(
        f"model {backend.model_id} ({n_params / 1e6:.0f}M parameters) on {backend.device}, torch threads "
        f"{torch.get_num_threads()}; {len(cases)} cases, {n_slots} slots"
    )

    prefix = len(backend.marks("tagged").prefix)
    forward_tokens = sum(
        max(backend._slot_starts(case, "tagged", slots_of[i])[1]) + prefix for i, case in enumerate(cases)
    )
    backend.decide_case(cases[0], "tagged", slots_of[0][:2], params, generate=False)  # warm-up
    fast, started = {}, time.perf_counter()
    for i, case in enumerate(track(cases, description="fast path (decisions)")):
        for decision in backend.decide_case(case, "tagged", slots_of[i], params, generate=False):
            fast[(i, decision.slot)] = decision.behavior
    fast_seconds = time.perf_counter() - started

    started, spoken = time.perf_counter(), 0
    for i, case in enumerate(track(cases, description="fast path (with responses)")):
        decisions = backend.decide_case(case, "tagged", slots_of[i], params, generate=True)
        spoken += sum(d.behavior is not Behavior.silent for d in decisions)
    generate_seconds = time.perf_counter() - started

    baseline, baseline_seconds = per_slot_loop(backend, cases, slots_of, args.baseline_stride)
    agree = [fast[key] == behavior for key, behavior in baseline.items() if behavior is not None]
    flops = matmul_flops(backend.device)

    fast_rate = n_slots / fast_seconds
    generate_rate = n_slots / generate_seconds
    baseline_rate = len(baseline) / baseline_seconds
    forward_flops = 2 * n_params * forward_tokens / fast_seconds
    print(
        f"fast path: {n_slots} decisions in {fast_seconds:.2f} s ({fast_rate:.1f}/s), one forward over "
        f"{forward_tokens} tokens in all"
    )
    print(
        f"fast path + responses (max_tokens {args.max_tokens}): {generate_seconds:.2f} s "
        f"({generate_rate:.1f} decisions/s, {spoken} slots spoke)"
    )
    print(
        f"per-slot generate(): {len(baseline)} decisions in {baseline_seconds:.2f} s "
        f"({baseline_rate:.2f}/s); agrees with the fast path on {sum(agree)}/{len(agree)} parseable slots"
    )
    print(f"matmul {flops / 1e9:.1f} GFLOP/s; fast-path forward {forward_flops / 1e9:.1f} GFLOP/s")
    print(
        f"fast_decisions_per_s={fast_rate:.2f} fast_with_responses_per_s={generate_rate:.2f} "
        f"per_slot_decisions_per_s={baseline_rate:.3f} speedup={fast_rate / baseline_rate:.1f} "
        f"speedup_with_responses={generate_rate / baseline_rate:.1f} matmul_gflops={flops / 1e9:.1f} "
        f"forward_gflops={forward_flops / 1e9:.1f} roofline={forward_flops / flops:.3f} "
        f"cases={len(cases)} slots={n_slots} device={backend.device}"
    )


if __name__ == "__main__":
    main()
