"""Build speed: generate N cases with a worker pool and compare against a one-worker baseline.

Target: a paper-scale build (PAPER_SCALE_CASES full cases, at least 142,496 designated tasks) in at
most 60 s on 2 cores. CPU seconds are reported beside wall seconds
because a shared machine's wall clock also measures its neighbours. The last line holds the
figures as key=value.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from behaviorbench.dataset.build import PAPER_SCALE_CASES, PAPER_SCALE_TASKS, build_dataset
from behaviorbench.dataset.manifest import Manifest
from behaviorbench.taxonomy import CATEGORIES

TARGET_CASES, TARGET_SECONDS = PAPER_SCALE_CASES, 60.0


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers, once shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_build(
    out: Path, cases: int, seed: int, workers: int, scenes: int | None
) -> tuple[Manifest, float, float]:
    """The manifest, wall seconds and CPU seconds of one build."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    manifest = build_dataset(out, cases, seed, workers=workers, scenes=scenes, progress=workers > 1)
    return manifest, time.perf_counter() - started, cpu_seconds() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=TARGET_CASES)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-cases", type=int, default=300, help="cases of the one-worker run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        baseline, baseline_wall, _ = timed_build(
            Path(scratch) / "baseline", args.baseline_cases, args.seed, 1, args.scenes
        )
        manifest, wall, cpu = timed_build(
            Path(scratch) / "full", args.cases, args.seed, args.workers, args.scenes
        )

    counts = manifest.counts
    slots = counts.designated_slots + counts.ambient_slots
    cases_per_s = counts.cases / wall
    baseline_per_s = baseline.counts.cases / baseline_wall
    shares = {category.value: counts.share_of_designated(category.value) for category in CATEGORIES}
    target_met = cases_per_s >= TARGET_CASES / TARGET_SECONDS
    control_shares = {
        category: n / counts.categories[category] for category, n in counts.controls.items() if n
    }

    print(f"built {counts.cases:,} cases with {args.workers} workers in {wall:.1f} s")
    print(
        f"  {cases_per_s:,.1f} cases/s, {slots / wall:,.0f} slots/s ({counts.designated_slots:,} designated)"
    )
    print(f"  {cpu:.1f} CPU s in all, {1000 * cpu / counts.cases:.1f} CPU ms per case")
    print(f"  one-worker baseline: {baseline_per_s:,.1f} cases/s over {baseline.counts.cases} cases")
    print(f"  speed-up over one worker: {cases_per_s / baseline_per_s:.2f}x")
    projected = TARGET_CASES / cases_per_s
    print(f"  {TARGET_CASES:,} cases would take {projected:.1f} s (target {TARGET_SECONDS:.0f} s)")
    two_cores = TARGET_CASES * cpu / counts.cases / 2
    print(f"  on 2 idle cores the CPU time alone gives {two_cores:.1f} s for {TARGET_CASES:,} cases")
    print("  category shares of designated slots (controls' share of a proactive category):")
    for category, share in shares.items():
        control = f"  controls {control_shares[category]:.1%}" if category in control_shares else ""
        print(f"    {category:<26} {share:6.1%}{control}")
    figures = {
        "cases": counts.cases,
        "workers": args.workers,
        "wall_s": f"{wall:.2f}",
        "cases_per_s": f"{cases_per_s:.1f}",
        "designated_slots": counts.designated_slots,
        "slots_per_s": f"{slots / wall:.0f}",
        "cpu_ms_per_case": f"{1000 * cpu / counts.cases:.1f}",
        "cpu_bound_2core_s": f"{two_cores:.1f}",
        "baseline_cases_per_s": f"{baseline_per_s:.1f}",
        "speedup": f"{cases_per_s / baseline_per_s:.2f}",
        "min_category_share": f"{min(shares.values()):.4f}",
        "min_control_share": f"{min(control_shares.values()):.4f}",
        "max_control_share": f"{max(control_shares.values()):.4f}",
        "tasks_per_case": f"{counts.designated_slots / counts.cases:.2f}",
        "paper_scale_tasks_met": str(
            counts.designated_slots / counts.cases * PAPER_SCALE_CASES >= PAPER_SCALE_TASKS
        ).lower(),
        "target_met": str(target_met).lower(),
        "cpu_bound_target_met": str(two_cores <= TARGET_SECONDS).lower(),
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
