"""Shortcut audit: can a bag-of-words model tell a problem from its minimal-pair control?

For every proactive-category designated slot (problem or control) the last k utterances up to
the slot become word 1-2-gram counts; logistic regression is trained on one seed's build and
tested on another seed's (see `behaviorbench.dataset.shortcuts`). Chance is 0.50; a build passes
when the overall accuracy is at most 0.55 and every subtype's at most 0.60, for every k. A
subtype's figure comes from a model trained on that subtype alone. The n-grams the models lean on
are printed for every subtype over the bar, so the cue can be found. The last line holds the
figures as key=value.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import track
from rich.table import Table

from behaviorbench.dataset.shortcuts import audit, pair_slots
from behaviorbench.generation import generate_case
from behaviorbench.schema import Case

OVERALL_BAR, SUBTYPE_BAR = 0.55, 0.60


def build(seed: int, cases: int) -> list[Case]:
    return [generate_case(seed, i) for i in track(range(cases), description=f"seed {seed}", transient=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000, help="cases per build")
    parser.add_argument("--train-seed", type=int, default=1)
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4], help="utterances of context")
    parser.add_argument("--ngrams", type=int, default=6, help="telling n-grams shown per flagged subtype")
    args = parser.parse_args()
    if args.cases < 2 or args.train_seed == args.test_seed or min(args.k) < 1:
        parser.error("need --cases >= 2, two different seeds and every --k >= 1")
    console = Console()
    ks = sorted(set(args.k))

    train = pair_slots(build(args.train_seed, args.cases), ks)
    test = pair_slots(build(args.test_seed, args.cases), ks)
    console.print(
        f"{args.cases} cases per build; train seed {args.train_seed}: {len(train.labels)} slots "
        f"({train.labels.mean():.2f} problems); test seed {args.test_seed}: {len(test.labels)} slots"
    )
    results = {k: audit(train, test, k, args.ngrams) for k in ks}

    table = Table(title="problem-vs-control accuracy (train one seed, test another; chance 0.50)")
    table.add_column("subtype")
    table.add_column("test slots", justify="right")
    for k in ks:
        table.add_column(f"k={k}", justify="right")
    table.add_row(
        "overall", str(len(test.labels)), *(f"{results[k][0].accuracy:.3f}" for k in ks), style="bold"
    )
    subtypes = sorted(set(test.subtypes))
    for subtype in subtypes:
        cells = []
        for k in ks:
            found = results[k][1].get(subtype)
            cell = "-" if found is None else f"{found.accuracy:.3f}"
            cells.append(f"[red]{cell}[/red]" if found and found.accuracy > SUBTYPE_BAR else cell)
        table.add_row(subtype, str(len(test.of(subtype))), *cells)
    console.print(table)
    for k in ks:
        for subtype, found in results[k][1].items():
            if found.accuracy > SUBTYPE_BAR and found.problem_ngrams:
                console.print(
                    f"{subtype} k={k}: problem <- {found.problem_ngrams}; control <- {found.control_ngrams}"
                )

    worst = {k: max(results[k][1].items(), key=lambda item: item[1].accuracy) for k in ks}
    worst_k = max(ks, key=lambda k: worst[k][1].accuracy)
    name, found = worst[worst_k]
    met = all(results[k][0].accuracy <= OVERALL_BAR for k in ks) and found.accuracy <= SUBTYPE_BAR
    figures = " ".join(f"overall_k{k}={results[k][0].accuracy:.3f}" for k in ks)
    worst_figures = " ".join(f"worst_k{k}={worst[k][1].accuracy:.3f}" for k in ks)
    print(
        f"slots={len(test.labels)} {figures} {worst_figures} worst_subtype={name} "
        f"worst_subtype_k={worst_k} worst_subtype_acc={found.accuracy:.3f} target_met={str(met).lower()}"
    )


if __name__ == "__main__":
    main()
