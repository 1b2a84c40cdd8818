"""Generator speed: CPU time per full case, generation plus JSON, in one process.

The build target is a paper-scale build (PAPER_SCALE_CASES full cases) in at most 60 s on 2 cores,
i.e. about 11 ms of CPU per case per core. CPU time (not wall time) is reported so a busy machine
does not distort the figure. The last line holds the figures as key=value.
"""

from __future__ import annotations

import argparse
import time

from behaviorbench.dataset.build import PAPER_SCALE_CASES
from behaviorbench.generation import generate_case

TARGET_CASES, TARGET_SECONDS, CORES = PAPER_SCALE_CASES, 60.0, 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.process_time()
    generate_case(args.seed, 0)  # loads the knowledge base and phrase banks once
    load_s = time.process_time() - started

    designated = characters = 0
    started = time.process_time()
    for index in range(args.cases):
        case = generate_case(args.seed, index)
        characters += len(case.model_dump_json())
        designated += len(case.designated)
    cpu_s = time.process_time() - started

    ms_per_case = 1000 * cpu_s / args.cases
    per_case = designated / args.cases
    projected_s = load_s + TARGET_CASES * ms_per_case / 1000 / CORES
    met = str(projected_s <= TARGET_SECONDS).lower()
    print(f"{args.cases} cases: {ms_per_case:.2f} ms CPU per case, {per_case:.2f} designated slots per case")
    print(
        f"projected {TARGET_CASES} cases on {CORES} cores: {projected_s:.1f} s "
        f"(target {TARGET_SECONDS:.0f} s)"
    )
    print(
        f"cases={args.cases} ms_per_case={ms_per_case:.2f} load_s={load_s:.2f} "
        f"designated_per_case={per_case:.2f} "
        f"json_chars_per_case={characters / args.cases:.0f} "
        f"projected_paper_scale_on_2_cores_s={projected_s:.1f} "
        f"target_met={met}"
    )


if __name__ == "__main__":
    main()
