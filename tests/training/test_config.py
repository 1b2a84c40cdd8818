from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

from behaviorbench.errors import BehaviorBenchError
from behaviorbench.training.config import TrainConfig, load_train_config

CONFIGS = Path(__file__).parents[2] / "configs"


def test_shipped_configs_differ_only_in_method():
    behavior = load_train_config(CONFIGS / "behavior-sft-lora.yaml", {})
    sft = load_train_config(CONFIGS / "sft-lora.yaml", {})
    assert (behavior.style, sft.style) == ("token", "plain")
    assert behavior.model_dump(exclude={"method"}) == sft.model_dump(exclude={"method"})
    assert behavior == TrainConfig()  # the YAML spells out the defaults


def test_reference_configs_differ_only_in_method():
    behavior = load_train_config(CONFIGS / "reference-behavior-sft.yaml", {})
    sft = load_train_config(CONFIGS / "reference-sft.yaml", {})
    assert behavior.model_dump(exclude={"method"}) == sft.model_dump(exclude={"method"})
    # The reference run uses the default recipe, longer, on whole cases (max_length), in bf16, with
    # checkpoints it can resume from.
    recipe = {"steps", "checkpoint_steps", "max_length", "bf16"}
    assert behavior.model_dump(exclude=recipe) == TrainConfig().model_dump(exclude=recipe)
    assert behavior.steps > TrainConfig().steps and behavior.checkpoint_steps > 0
    assert behavior.max_length >= 2813 and behavior.bf16  # the longest case of a 7,000-case build


def test_command_line_overrides_the_file_and_none_keeps_it(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("steps: 10\nlr: 0.01\n")
    config = load_train_config(path, {"steps": 3, "lr": None, "method": "sft"})
    assert (config.steps, config.lr, config.method) == (3, 0.01, "sft")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: [1\n", r"bad\.yaml:\d+: not valid YAML"),
        ("- steps\n", "must be a mapping"),
        ("stepz: 3\n", r"bad\.yaml: stepz: Extra inputs"),
        ("method: rlhf\n", r"bad\.yaml: method:"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(BehaviorBenchError, match=message) as error:
        load_train_config(path, {})
    assert "\n" not in str(error.value)


def test_accelerate_configs_load():
    kinds = {
        p.stem: load_config_from_file(str(p)).distributed_type.value
        for p in (CONFIGS / "accelerate").glob("*.yaml")
    }
    assert kinds == {
        "single-gpu": "NO",
        "multi-gpu-ddp": "MULTI_GPU",
        "fsdp": "FSDP",
        "deepspeed-zero2": "DEEPSPEED",
    }
