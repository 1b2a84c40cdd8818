"""What a finished training run records next to its weights, so a result can be traced to its inputs."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from behaviorbench.dataset.atomic import atomic_write_text
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import read_text
from behaviorbench.training.config import TrainConfig

RUN_CARD = "run_card.json"
RUN_IDENTITY = "train_config.json"
"""Written when a run starts: lets a rerun resume its checkpoints, and a different run be refused."""


class RunIdentity(BaseModel):
    """The inputs that decide a run: its config and the exact dataset it read."""

    model_config = ConfigDict(extra="forbid")

    config: TrainConfig
    data_fingerprint: str

    def matches(self, other: RunIdentity) -> bool:
        """Same data and the same result-deciding config (checkpoint frequency may differ)."""
        return (
            self.data_fingerprint == other.data_fingerprint
            and self.config.identity() == other.config.identity()
        )


class LossPoint(BaseModel):
    step: int
    loss: float


class RunCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_model: str
    method: str
    style: str
    adapter: bool
    """True: the folder holds a LoRA adapter over `base_model`; False: a full model."""
    data_fingerprint: str
    config: TrainConfig
    steps: int
    world_size: int
    cases: int
    cases_truncated: int
    cases_skipped: int
    slots_dropped: int
    """Assistant turns cut off by `max_length` (never trained on)."""
    supervised_slots: int
    """Assistant turns with loss in one pass over the training sequences."""
    slots_seen: int
    """Assistant turns trained on over the whole run, all processes together."""
    tokens_seen: int
    supervised_tokens_seen: int
    behavior_token_ids: dict[str, int] | None
    wall_seconds: float
    """Time of the last invocation (the one that finished the run)."""
    resumed_from_step: int = 0
    """The checkpoint step the finishing invocation resumed from; 0: trained in one go."""
    losses: list[LossPoint]
    versions: dict[str, str]

    @property
    def identity(self) -> RunIdentity:
        return RunIdentity(config=self.config, data_fingerprint=self.data_fingerprint)


def write_model(path: Path, model: BaseModel) -> None:
    atomic_write_text(path, model.model_dump_json(indent=2) + "\n")


def read_run_card(directory: Path) -> RunCard:
    path = Path(directory) / RUN_CARD
    try:
        return RunCard.model_validate_json(read_text(path))
    except FileNotFoundError:
        raise BehaviorBenchError(f"{path}: not found; is {directory} a training output?") from None
    except ValueError as error:
        raise BehaviorBenchError(f"{path}: not a valid run card ({str(error).splitlines()[0]})") from None


def read_identity(directory: Path) -> RunIdentity | None:
    path = Path(directory) / RUN_IDENTITY
    if not path.is_file():
        return None
    try:
        return RunIdentity.model_validate_json(read_text(path))
    except ValueError:
        raise BehaviorBenchError(f"{path}: not a valid training config record") from None
