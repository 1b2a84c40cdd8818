"""A fresh build passes the safety check: no clean slot holds a problem the knowledge base can
see, and every problem slot holds exactly its intended one. (The 2,000-case figure comes from
`behaviorbench check` on a full build; this keeps a small build honest on every run.)"""

from __future__ import annotations

from collections import Counter

from behaviorbench.checking import check_case
from behaviorbench.generation import generate_case
from behaviorbench.knowledge import load_knowledge_base

CASES = 24


def test_a_small_build_has_no_findings():
    kb = load_knowledge_base()
    findings, problems = [], 0
    for index in range(CASES):
        report = check_case(kb, generate_case(11, index))
        findings += report.findings
        problems += report.slots["problem"]
    assert problems > CASES  # the check held real problem slots, not an empty build
    kinds = Counter(f.kind for f in findings)
    assert findings == [], f"{dict(kinds)}; first: {[f.line() for f in findings[:5]]}"
