"""The Agent API and `behaviorbench chat` on a tiny model trained until it knows three scenes."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from behaviorbench.agent import Agent, conversation_case
from behaviorbench.cli.app import app
from behaviorbench.cli.chat import parse_line
from behaviorbench.dataset.writer import write_dataset
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.base import GenerationParams
from behaviorbench.models.tiny import make_tiny_model
from behaviorbench.schema import Case, Slot, Utterance
from behaviorbench.taxonomy import Behavior, Category
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.trainer import train

OPENING = [
    {"speaker": "Dr. Okafor", "role": "attending", "text": "Let's review bed 4."},
    {"speaker": "Nurse Lee", "role": "nurse", "text": "Morning labs are back."},
]
ASKED = {
    "speaker": "Dr. Okafor",
    "role": "attending",
    "text": "Assistant, what is the most likely diagnosis?",
}
PROBLEM = {"speaker": "Pharmacist Ng", "role": "pharmacist", "text": "Give penicillin despite the allergy."}
ROUTINE = {"speaker": "Nurse Lee", "role": "nurse", "text": "The heart rate is 80."}
SCENES = [
    (ASKED, Behavior.reactive, "Sepsis.", Category.ddx_reasoning),
    (PROBLEM, Behavior.proactive, "Allergy: penicillin.", Category.safety_alert),
    (ROUTINE, Behavior.silent, "", Category.non_actionable),
]


def scene_case(index: int) -> Case:
    line, behavior, response, category = SCENES[index % len(SCENES)]
    gold = Slot(
        index=2, category=category, task_id=f"c{index}-t2", gold_behavior=behavior, gold_response=response
    )
    return Case(
        case_id=f"c{index}",
        split="train",
        seed=0,
        version="test",
        setting="ward round",
        assistant_names=["Assistant"],
        patient={},
        utterances=[Utterance(**u) for u in [*OPENING, line]],
        slots=[Slot(index=0), Slot(index=1), gold],
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("agent")
    write_dataset(root / "data", [scene_case(i) for i in range(3)], generator_version="test")
    config = TrainConfig(
        base=str(make_tiny_model(root / "tiny")),
        data=str(root / "data"),
        lora=False,
        steps=120,
        batch_size=3,
        lr=1e-2,
    )
    train(config, root / "run")
    return str(root / "run")


@pytest.fixture(scope="module")
def agent(trained) -> Agent:
    return Agent.load(trained, device="cpu", max_tokens=8)


def test_agent_decides_like_the_benchmark_fast_path(agent):
    assert agent.style == "token"
    for index, (line, behavior, _, _) in enumerate(SCENES):
        turn = agent.decide([*OPENING, line])
        assert turn.behavior is behavior
        assert sum(turn.probabilities.values()) == pytest.approx(1.0)
        assert max(turn.probabilities, key=turn.probabilities.get) is behavior
        assert (turn.response != "") == (behavior is not Behavior.silent)
        [expected] = agent.backend.decide_case(
            scene_case(index), "token", [2], GenerationParams(max_tokens=8)
        )
        assert turn.probabilities == expected.probabilities
    assert agent.decide(OPENING[:1]).behavior is Behavior.silent


def test_proactivity_dial_shifts_towards_speaking_up(agent):
    quiet = agent.decide([*OPENING, ROUTINE])
    agent.proactivity = 12.0
    try:
        eager = agent.decide([*OPENING, ROUTINE])
    finally:
        agent.proactivity = 0.0
    assert eager.probabilities[Behavior.proactive] > quiet.probabilities[Behavior.proactive]
    assert eager.behavior is Behavior.proactive and eager.response


def test_earlier_agent_turns_become_its_history():
    conversation = [*OPENING, {"role": "assistant", "content": "<|proactive|>Check the labs."}, ROUTINE]
    case = conversation_case(conversation, "token")
    assert [s.gold_behavior for s in case.slots] == [Behavior.silent, Behavior.proactive, Behavior.silent]
    assert case.slots[1].gold_response == "Check the labs."
    turn = {"role": "assistant", "behavior": "reactive", "content": "Sepsis."}
    assert conversation_case([ASKED, turn, ROUTINE], "token").slots[0].gold_behavior is Behavior.reactive
    with pytest.raises(BehaviorBenchError, match=r"conversation\[0\]\.role"):
        conversation_case([{"speaker": "Sam", "role": "", "text": "Hi"}], "token")
    with pytest.raises(BehaviorBenchError, match="ends with an assistant turn"):
        conversation_case([ASKED, turn], "token")


@pytest.mark.parametrize(
    ("conversation", "where"),
    [
        ("Assistant, what is the potassium?", r"conversation: expected a list"),
        (None, r"conversation: expected a list"),
        ([ASKED, "just a string"], r"conversation\[1\]: expected a dict"),
        ([None], r"conversation\[0\]: expected a dict"),
        ([{"role": "nurse", "text": None}], r"conversation\[0\]\.text"),
    ],
)
def test_a_turn_that_is_not_a_turn_is_one_clear_error(conversation, where):
    with pytest.raises(BehaviorBenchError, match=where):
        conversation_case(conversation, "token")


def test_chat_lines_parse_to_utterances():
    assert parse_line("nurse: BP is 120/80", None) == {
        "speaker": "Nurse",
        "role": "nurse",
        "text": "BP is 120/80",
    }
    named = parse_line("Dr. Okafor (attending): Go ahead.", None)
    assert named == {"speaker": "Dr. Okafor", "role": "attending", "text": "Go ahead."}
    assert parse_line("and the lactate is 4", named)["speaker"] == "Dr. Okafor"
    with pytest.raises(BehaviorBenchError, match="start with"):
        parse_line("hello", None)
    with pytest.raises(BehaviorBenchError, match="unknown role 'surgeon'"):
        parse_line("surgeon: hi", named)


def test_chat_command_shows_each_decision(trained):
    lines = [
        "hello there",
        "Dr. Okafor (attending): Let's review bed 4.",
        "Nurse Lee (nurse): Morning labs are back.",
        "Pharmacist Ng (pharmacist): Give penicillin despite the allergy.",
        "/reset",
        "attending: Let's review bed 4.",
        "nurse: Morning labs are back.",
        "Dr. Okafor (attending): Assistant, what is the most likely diagnosis?",
        "/quit",
    ]
    result = CliRunner().invoke(
        app,
        ["chat", "--model", trained, "--max-tokens", "8", "--name", "Assistant"],
        input="\n".join(lines) + "\n",
    )
    assert result.exit_code == 0, result.output
    decisions = re.findall(r"(\w+)\s+reactive [01]\.\d\d\s+proactive [01]\.\d\d\s+silent", result.output)
    assert decisions == ["silent", "silent", "proactive", "silent", "silent", "reactive"]
    assert "error: line 'hello there'" in result.output
    assert result.output.count("assistant:") == 2
    assert "new conversation" in result.output


def test_the_agent_is_told_its_name_and_loads_with_the_common_model_syntax(trained, agent):
    named = Agent.load(f"hf:{trained}", device="cpu", max_tokens=8, names=["Ada"])
    assert named.names == ("Ada",) and named.style == "token"
    line = {**ASKED, "text": "Ada, what is the most likely diagnosis?"}
    case = conversation_case([*OPENING, line], named.style, named.names)
    assert case.assistant_names == ["Ada"]
    [expected] = named.backend.decide_case(case, "token", [2], GenerationParams(max_tokens=8))
    turn = named.decide([*OPENING, line])
    assert turn.probabilities == expected.probabilities
    assert turn.probabilities != agent.decide([*OPENING, line]).probabilities  # the name reached the prompt
    with pytest.raises(BehaviorBenchError, match="needs a local model"):
        Agent.load("openai:gpt-4o")
    with pytest.raises(BehaviorBenchError, match="non-empty name"):
        Agent.load(trained, names=[" "])
