"""Builders for review tests: hand-made cases, runs that behave differently, a live rating server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import uvicorn
from casekit import attending, lab_table, nurse, resident, ward_case
from matplotlib import pyplot as plt

from behaviorbench.dataset.manifest import dataset_fingerprint
from behaviorbench.evaluation.records import Sample
from behaviorbench.review.server import create_app
from behaviorbench.schema import Case, ImageAttachment, Slot, Target
from behaviorbench.taxonomy import GROUP_OF, Behavior, Category

XSS = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
SYSTEM_MODELS = ("gold-model-7b", "hush-model-3b", "chatty-model-1b")
"""Model names the rater must never see; chosen so that no case or response text contains them."""

CATEGORIES = [
    (Category.lab_interpretation, Behavior.reactive),
    (Category.error_correction, Behavior.proactive),
    (Category.non_actionable, Behavior.silent),
    (Category.safety_alert, Behavior.proactive),
    (Category.ddx_reasoning, Behavior.reactive),
    (Category.already_addressed, Behavior.silent),
]


def make_case(index: int) -> Case:
    """Four utterances (one with a lab table, one with a rhythm strip), three designated slots."""
    text = f"Bed {index}: {XSS} family says the patient is worse." if index == 0 else f"Bed {index} review."
    potassium = ("potassium", f"{5 + index % 3}.9", "mmol/L", "3.5-5.1")
    strip = ImageAttachment(
        title="Rhythm strip", path=f"images/strip-{index:03d}.png", truth={"rhythm": "sinus"}
    )
    utterances = [
        attending(text),
        nurse("Labs are back.", lab_table(potassium, ("note", XSS, "", ""))),
        resident("Assistant, what do you make of this strip?", strip),
        attending("Let's start the plan."),
    ]
    slots = [Slot(index=0)]
    for offset in range(3):
        category, gold = CATEGORIES[(index + offset) % len(CATEGORIES)]
        slots.append(
            Slot(
                index=offset + 1,
                category=category,
                task_id=f"case-{index:03d}-t{offset + 1}",
                gold_behavior=gold,
                gold_response="" if gold is Behavior.silent else f"Gold reply {index}.{offset + 1}.",
                target=Target(kind="issue", answers=["x"]) if gold is not Behavior.silent else None,
            )
        )
    return ward_case(f"case-{index:03d}", utterances, slots, seed=3, patient={"age": 60})


def write_images(data_dir: Path, count: int) -> None:
    (data_dir / "images").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        strip = np.sin(np.linspace(0, 6 + index, 64))[None, :].repeat(8, axis=0)
        plt.imsave(data_dir / "images" / f"strip-{index:03d}.png", strip, cmap="gray")


Policy = Callable[[Case, Slot], tuple[Behavior, str]]

POLICIES: dict[str, Policy] = {
    "gold-model-7b": lambda case, slot: (slot.gold_behavior, slot.gold_response),
    "hush-model-3b": lambda case, slot: (Behavior.silent, ""),
    "chatty-model-1b": lambda case, slot: (
        Behavior.proactive,
        f"Please recheck the plan for {case.case_id}.",
    ),
}


def write_run(run_dir: Path, model: str, data_dir: Path, cases: list[Case], policy: Policy) -> Path:
    run_dir.mkdir(parents=True)
    lines = []
    for case in cases:
        for slot in case.slots:
            predicted, response = policy(case, slot)
            sample = Sample(
                case_id=case.case_id,
                slot=slot.index,
                split=case.split,
                category=slot.category,
                group=GROUP_OF[slot.category] if slot.category else None,
                task_id=slot.task_id,
                control_of=slot.control_of,
                gold_behavior=slot.gold_behavior,
                predicted=predicted,
                status="ok",
                raw_output=f"[{predicted.value.upper()}] {response}".strip(),
                response=response,
                prompt_hash="0" * 16,
            )
            lines.append(sample.model_dump_json())
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {
        "model": model,
        "protocol": "tagged",
        "data_dir": str(data_dir),
        "dataset_fingerprint": dataset_fingerprint(data_dir),
        "split": "test",
    }
    (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def live_server(db: Path) -> Iterator[str]:
    """The real app on a loopback port in a background thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("rating server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
