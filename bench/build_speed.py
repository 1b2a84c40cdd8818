"""Build speed: generate N cases with a worker pool and compare against a one-worker baseline.

Target: 7,000 full cases in at most 60 s on 2 cores. The last line holds the figures as key=value.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from behaviorbench.dataset.build import build_dataset
from behaviorbench.dataset.manifest import Manifest
from behaviorbench.taxonomy import CATEGORIES

TARGET_CASES, TARGET_SECONDS = 7000, 60.0


def timed_build(out: Path, cases: int, seed: int, workers: int, scenes: int | None) -> tuple[Manifest, float]:
    started = time.perf_counter()
    manifest = build_dataset(out, cases, seed, workers=workers, scenes=scenes, progress=workers > 1)
    return manifest, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=TARGET_CASES)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline-cases", type=int, default=300, help="cases of the one-worker run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenes", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        baseline, baseline_wall = timed_build(
            Path(scratch) / "baseline", args.baseline_cases, args.seed, 1, args.scenes
        )
        manifest, wall = timed_build(Path(scratch) / "full", args.cases, args.seed, args.workers, args.scenes)

    counts = manifest.counts
    slots = counts.designated_slots + counts.ambient_slots
    cases_per_s = counts.cases / wall
    baseline_per_s = baseline.counts.cases / baseline_wall
    shares = {category.value: counts.share_of_designated(category.value) for category in CATEGORIES}
    target_met = cases_per_s >= TARGET_CASES / TARGET_SECONDS

    print(f"built {counts.cases:,} cases with {args.workers} workers in {wall:.1f} s")
    print(
        f"  {cases_per_s:,.1f} cases/s, {slots / wall:,.0f} slots/s ({counts.designated_slots:,} designated)"
    )
    print(f"  one-worker baseline: {baseline_per_s:,.1f} cases/s over {baseline.counts.cases} cases")
    print(f"  speed-up over one worker: {cases_per_s / baseline_per_s:.2f}x")
    projected = TARGET_CASES / cases_per_s
    print(f"  {TARGET_CASES:,} cases would take {projected:.1f} s (target {TARGET_SECONDS:.0f} s)")
    print("  category shares of designated slots:")
    for category, share in shares.items():
        print(f"    {category:<26} {share:6.1%}")
    figures = {
        "cases": counts.cases,
        "workers": args.workers,
        "wall_s": f"{wall:.2f}",
        "cases_per_s": f"{cases_per_s:.1f}",
        "designated_slots": counts.designated_slots,
        "slots_per_s": f"{slots / wall:.0f}",
        "baseline_cases_per_s": f"{baseline_per_s:.1f}",
        "speedup": f"{cases_per_s / baseline_per_s:.2f}",
        "min_category_share": f"{min(shares.values()):.4f}",
        "target_met": str(target_met).lower(),
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
