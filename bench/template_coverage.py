"""Template coverage: how much of a build's language is a few fixed sentences.

Every utterance of N generated cases is reduced to its template: numbers and person names (the
cast's first and last names, the assistant's names, titles) are masked, so "Dr. Ito: K is 4.1"
and "Dr. Kaur: K is 5.3" are one template. The figure is the share of all utterances that the
`--top` most common templates cover (target: at most 0.40 for the top 300 of a 400-case build); a
share near 1 means a model can learn the sentences rather than the situation. The figure is also
given as a ratio to the target share. The last line holds the figures as key=value.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

from behaviorbench.generation import generate_case
from behaviorbench.generation.banks import load_phrase_bank
from behaviorbench.knowledge import load_knowledge_base

TARGET_SHARE, TARGET_TOP, TARGET_CASES = 0.40, 300, 400
NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")


def name_pattern() -> re.Pattern[str]:
    """Every name the generator can say: people (the cast's first and last names, the assistant's
    names, with a title) and the knowledge base's drugs (with brand names), analytes and conditions
    (with their aliases); longest first so "Dr. Ito" wins over "Ito"."""
    cast = load_phrase_bank().get("cast")
    kb = load_knowledge_base()
    names = set(cast["first_names"]) | set(cast["last_names"]) | set(cast["assistant_names"])
    for drug in kb.drugs.values():
        names |= {drug.name, *drug.brand_names}
    for analyte in kb.analytes.values():
        names |= {analyte.name, *analyte.aliases}
    for condition in kb.conditions.values():
        names |= {condition.name, *condition.synonyms}
    ordered = sorted({n for n in names if len(n) > 1}, key=len, reverse=True)
    alternatives = "|".join(map(re.escape, ordered))
    return re.compile(r"\b(?:(?:Dr|Mr|Mrs|Ms)\. )?(?:" + alternatives + r")\b", re.IGNORECASE)


def template(text: str, names: re.Pattern[str]) -> str:
    """The utterance with names and numbers masked."""
    return NUMBER.sub("<N>", names.sub("<NAME>", text))


def top_share(counts: Counter[str], top: int) -> float:
    total = sum(counts.values())
    return sum(n for _, n in counts.most_common(top)) / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=TARGET_CASES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=TARGET_TOP)
    parser.add_argument("--show", type=int, default=0, help="print the N most common templates")
    args = parser.parse_args()

    names = name_pattern()
    every: Counter[str] = Counter()
    for index in range(args.cases):
        case = generate_case(args.seed, index)
        every.update(template(utterance.text, names) for utterance in case.utterances)

    share = top_share(every, args.top)
    for masked, count in every.most_common(args.show):
        print(f"{count:6d}  {masked}")
    total = sum(every.values())
    print(
        f"{args.cases} cases, {total} utterances, {len(every)} distinct templates: "
        f"the top {args.top} cover {share:.1%} (target at most {TARGET_SHARE:.0%} for the top "
        f"{TARGET_TOP} of {TARGET_CASES} cases)"
    )
    met = str(share <= TARGET_SHARE).lower()
    print(
        f"cases={args.cases} utterances={total} templates={len(every)} top={args.top} "
        f"top_share={share:.3f} ratio_to_target={share / TARGET_SHARE:.3f} target_met={met}"
    )


if __name__ == "__main__":
    main()
