"""Shared by the model tests: a tiny random model on disk, small valid cases with every behavior in
gold history, and a loopback server runner."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.schema import Case, Slot, TableAttachment, Target, Utterance
from behaviorbench.taxonomy import Behavior, Category

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_case(variant: int = 0) -> Case:
    """Six utterances: a question (reactive), a 10x dose nobody catches (proactive), ambient talk."""
    dose = ["4 mg", "40 mg", "0.4 mg"][variant % 3]
    utterances = [
        Utterance(
            speaker="Dr. Okafor", role="attending", text="Let's review bed 4, a 67-year-old with sepsis."
        ),
        Utterance(
            speaker="Nurse Lee",
            role="nurse",
            text="Morning labs are back.",
            attachments=[
                TableAttachment(
                    title="Basic metabolic panel",
                    columns=["analyte", "value", "unit", "range"],
                    rows=[["potassium", "5.9", "mmol/L", "3.5-5.1"], ["sodium", "139", "mmol/L", "135-145"]],
                )
            ],
        ),
        Utterance(speaker="Dr. Patel", role="resident", text="Assistant, what stands out in these labs?"),
        Utterance(speaker="Dr. Patel", role="resident", text=f"Give ondansetron {dose} IV now."),
        Utterance(speaker="Nurse Lee", role="nurse", text="Okay, drawing it up."),
        Utterance(speaker="Dr. Okafor", role="attending", text="Let's move on to bed 5."),
    ]
    slots = [Slot(index=i) for i in range(len(utterances))]
    slots[2] = Slot(
        index=2,
        category=Category.lab_interpretation,
        task_id=f"t{variant}-labs",
        gold_behavior=Behavior.reactive,
        gold_response="Potassium is high at 5.9 mmol/L.",
        target=Target(kind="analytes", answers=["potassium"]),
        evidence=[1],
    )
    slots[3] = Slot(
        index=3,
        category=Category.error_correction,
        task_id=f"t{variant}-dose",
        gold_behavior=Behavior.proactive,
        gold_response=f"Ondansetron {dose} IV looks like a 10x dosing error.",
        target=Target(kind="issue", answers=["dose"]),
        evidence=[3],
    )
    return Case(
        case_id=f"hand-{variant}",
        split="test",
        seed=0,
        version="test",
        setting="ward round",
        patient={"age": 67},
        utterances=utterances,
        slots=slots,
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    from behaviorbench.models.hf import HFBackend

    return HFBackend(str(tiny_model_dir), device="cpu")


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its /v1 URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
