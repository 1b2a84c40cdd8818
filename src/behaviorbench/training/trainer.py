"""BehaviorSFT and its SFT baseline: whole-case sequences through a plain `transformers.Trainer`.

The same function trains both: `behavior-sft` adds the behavior tokens and writes every assistant
turn as token + response; `sft` keeps the vocabulary and writes the response alone (silent turns as
the fixed NO_COMMENT reply), on identical cases, steps and batch sizes. Trainer handles DDP, FSDP
and DeepSpeed when the script is started by `accelerate launch` or `torchrun`; only the main
process writes.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import torch
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.utils import logging as hf_logging

from behaviorbench.conversation import Style
from behaviorbench.dataset.manifest import dataset_fingerprint
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.dataset.shards import verify_shards
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.models.smollm2 import resolve_model_path
from behaviorbench.schema import Case
from behaviorbench.taxonomy import BEHAVIOR_TOKENS
from behaviorbench.training.adapters import frozen_token_rows, lora_model
from behaviorbench.training.checkpoints import CheckpointMarks, checkpoint_step, last_checkpoint, read_tally
from behaviorbench.training.collator import CompletionCollator
from behaviorbench.training.config import TrainConfig
from behaviorbench.training.loss_plot import plot_losses
from behaviorbench.training.model_card import write_model_card
from behaviorbench.training.progress import RichProgress
from behaviorbench.training.run_card import (
    RUN_CARD,
    RUN_IDENTITY,
    LossPoint,
    RunCard,
    RunIdentity,
    read_identity,
    read_run_card,
    write_model,
)
from behaviorbench.training.sequences import IGNORE, Sequence, encode_case, token_weights, truncate
from behaviorbench.training.tokens import add_behavior_tokens, behavior_token_ids


@dataclass(frozen=True)
class TrainingSet:
    """The sequences a run trains on, and what `max_length` cost (reported, never silent)."""

    sequences: list[Sequence]
    cases: int
    truncated: int
    skipped: int
    slots_dropped: int

    @property
    def supervised_slots(self) -> int:
        return sum(s.slots for s in self.sequences)


def build_training_set(cases: list[Case], tokenizer, style: Style, max_length: int) -> TrainingSet:
    """One sequence per case; a case longer than `max_length` keeps its turns that fit, or is skipped."""
    sequences, truncated, skipped, dropped = [], 0, 0, 0
    for case in cases:
        whole = encode_case(tokenizer, case, style)
        kept = truncate(whole, max_length)
        if kept is None:
            skipped += 1
            dropped += whole.slots
            continue
        if kept is not whole:
            truncated += 1
            dropped += whole.slots - kept.slots
        sequences.append(kept)
    return TrainingSet(sequences, len(cases), truncated, skipped, dropped)


def load_training_data(config: TrainConfig) -> tuple[list[Case], str]:
    """The cases of the configured split and the dataset's fingerprint."""
    if config.data is None:
        raise BehaviorBenchError(
            "data: no dataset given; pass --data DIR (a folder built by `behaviorbench build`)"
        )
    data = Path(config.data)
    if not data.is_dir():
        raise BehaviorBenchError(
            f"{data}: not a dataset folder (expected a manifest.json built by `behaviorbench build`)"
        )
    verify_shards(data)
    return list(iter_cases(data, config.split)), dataset_fingerprint(data)


def partial_dir(out: Path) -> Path:
    """Where an unfinished run keeps its config record and checkpoints: `out` appears only when done."""
    return out.with_name(f"{out.name}.partial")


def check_output_dir(out: Path, identity: RunIdentity) -> RunCard | None:
    """The finished run already in `out` when it is this same run; refuse a folder holding another,
    and an unfinished run of another config in `out`'s partial folder."""
    if out.exists() and any(out.iterdir()):
        if not (out / RUN_CARD).is_file():
            raise BehaviorBenchError(
                f"{out}: folder is not empty and holds no training run; choose another --out"
            )
        card = read_run_card(out)
        if card.identity.matches(identity):
            return card
        raise BehaviorBenchError(
            f"{out / RUN_CARD}: this folder holds a different run ({_difference(card.identity, identity)}); "
            "choose another --out"
        )
    work = partial_dir(out)
    if work.exists() and any(work.iterdir()):
        previous = read_identity(work)
        if previous is None:
            raise BehaviorBenchError(
                f"{work}: folder is not empty and holds no unfinished training run; "
                "remove it or choose another --out"
            )
        if not previous.matches(identity):
            raise BehaviorBenchError(
                f"{work / RUN_IDENTITY}: {out} has an unfinished run of a different config "
                f"({_difference(previous, identity)}); rerun that config to resume it, "
                "or choose another --out"
            )
    return None


def _difference(old: RunIdentity, new: RunIdentity) -> str:
    if old.data_fingerprint != new.data_fingerprint:
        return f"data fingerprint {old.data_fingerprint} vs {new.data_fingerprint}"
    before, after = old.config.identity(), new.config.identity()
    changed = [key for key in after if before.get(key) != after[key]]
    return ", ".join(f"{key}: {before.get(key)!r} -> {after[key]!r}" for key in changed)


def load_model(config: TrainConfig):
    """The base model and tokenizer, with behavior tokens for behavior-sft and LoRA unless --full.

    Refuses a setup in which a behavior token's embedding row could not learn.
    """
    path = resolve_model_path(config.base)
    hf_logging.disable_progress_bar()  # the run's own progress bar is the one to watch
    if (path / "adapter_config.json").is_file() and not (path / "config.json").is_file():
        raise BehaviorBenchError(
            f"base {config.base}: is an adapter; training starts from a full model folder"
        )
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.chat_template is None:
        raise BehaviorBenchError(f"base {config.base}: tokenizer has no chat template")
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    set_seed(config.seed)  # LoRA's initial weights come from the global generator: same seed, same start
    token_ids = list(add_behavior_tokens(model, tokenizer).values()) if config.style == "token" else []
    if config.lora:
        model = lora_model(model, config, token_ids)
    frozen = frozen_token_rows(model, token_ids)
    if frozen:
        raise BehaviorBenchError(
            f"config: train_token_rows/lora_targets leave the behavior token rows {frozen} frozen; "
            "with LoRA they must be trainable (set train_token_rows: true) or use --full"
        )
    return model, tokenizer


class _CompletionTrainer(Trainer):
    """Trainer whose loss projects to the vocabulary only where a label is supervised.

    A whole case is mostly context: computing logits over a ~50k vocabulary at every position
    would cost a large share of a CPU step for tokens that carry no loss. It also counts the
    tokens, supervised tokens and slots each process trains on.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tally = torch.zeros(3, dtype=torch.long)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        slots, labels, weights = inputs.pop("slots"), inputs.pop("labels"), inputs.pop("weights")
        targets = labels[:, 1:]
        # Position p predicts token p + 1: keep p where that token is supervised.
        keep = torch.nn.functional.pad(targets != IGNORE, (0, 1), value=False)
        outputs = model(**inputs, logits_to_keep=keep)
        losses = torch.nn.functional.cross_entropy(
            outputs.logits.float().reshape(-1, outputs.logits.shape[-1]),
            targets[keep[:, :-1]],
            reduction="none",
        )
        loss = (losses * weights[:, 1:][keep[:, :-1]]).sum()
        if num_items_in_batch is None:
            loss = loss / keep.sum().clamp(min=1)
        else:  # normalised over the whole accumulated batch, all processes (as Trainer's own loss)
            loss = loss / num_items_in_batch
            if self.args.average_tokens_across_devices:
                loss = loss * self.accelerator.num_processes
        if model.training:
            counts = [inputs["attention_mask"].sum(), keep.sum(), slots.sum()]
            self.tally += torch.stack(counts).cpu()
        return (loss, outputs) if return_outputs else loss

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """A LoRA checkpoint holds the adapter and token rows, not the whole resized embedding:
        a resumed run rebuilds that from the base model exactly as the first one did."""
        if isinstance(self.model, PeftModel):
            if self.args.should_save:
                self.model.save_pretrained(output_dir, state_dict=state_dict, save_embedding_layers=False)
            return
        super()._save(output_dir, state_dict)


def training_arguments(config: TrainConfig, checkpoints: Path) -> TrainingArguments:
    """Trainer settings of a run: the configured schedule, a loss point every step, and a resumable
    checkpoint every `checkpoint_steps` steps."""
    return TrainingArguments(
        output_dir=str(checkpoints),
        max_steps=config.steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        lr_scheduler_type=config.schedule,
        logging_steps=1,
        save_strategy="steps" if config.checkpoint_steps else "no",
        save_steps=config.checkpoint_steps or 1,
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        remove_unused_columns=False,
        label_names=["labels"],
        disable_tqdm=True,
        bf16=config.bf16 if config.bf16 is not None else _gpu_bf16(),
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),  # also makes a CPU torchrun job a gloo DDP job
    )


def fit(
    model,
    tokenizer,
    training_set: TrainingSet,
    arguments: TrainingArguments,
    description: str,
    config: TrainConfig,
    callbacks: list[TrainerCallback] | None = None,
) -> Trainer:
    """Run the optimizer steps on `model` in place, from the last complete checkpoint in
    `arguments.output_dir` if there is one; the returned trainer holds the state and counts."""
    features = [
        {"input_ids": s.input_ids, "labels": s.labels, "slots": s.slots, "weights": token_weights(s, config)}
        for s in training_set.sequences
    ]
    trainer = _CompletionTrainer(
        model=model,
        args=arguments,
        train_dataset=features,
        data_collator=CompletionCollator(tokenizer.pad_token_id),
        callbacks=[RichProgress(description), *(callbacks or [])],
    )
    trainer.remove_callback(PrinterCallback)  # the progress bar replaces its per-step log lines
    resume = last_checkpoint(Path(arguments.output_dir))
    if resume is not None:
        trainer.tally.copy_(read_tally(resume, arguments.process_index))
    trainer.add_callback(CheckpointMarks(trainer.tally))
    trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    return trainer


def train(config: TrainConfig, out: Path) -> RunCard:
    """Train, then save the adapter (or full model), tokenizer, run_card.json and loss.png in `out`."""
    started = time.perf_counter()
    out = Path(out)
    cases, fingerprint = load_training_data(config)
    identity = RunIdentity(config=config, data_fingerprint=fingerprint)
    finished = check_output_dir(out, identity)
    if finished is not None:
        return finished
    model, tokenizer = load_model(config)
    training_set = build_training_set(cases, tokenizer, config.style, config.max_length)
    if training_set.supervised_slots == 0:
        raise BehaviorBenchError(
            f"{config.data}: split {config.split!r} gives no assistant turns to train on "
            f"({training_set.cases} cases, {training_set.skipped} longer than max_length {config.max_length})"
        )
    work = partial_dir(out)
    arguments = training_arguments(config, work / "checkpoints")
    if arguments.process_index == 0:
        work.mkdir(parents=True, exist_ok=True)
        write_model(work / RUN_IDENTITY, identity)
    resumed = last_checkpoint(work / "checkpoints")
    trainer = fit(
        model,
        tokenizer,
        training_set,
        arguments,
        f"{config.method} {'LoRA' if config.lora else 'full'}",
        config,
    )
    tokens, supervised, slots = trainer.accelerator.reduce(trainer.tally.to(arguments.device), "sum").tolist()
    losses = [LossPoint(step=e["step"], loss=e["loss"]) for e in trainer.state.log_history if "loss" in e]
    token_ids = behavior_token_ids(tokenizer) if config.style == "token" else None
    card = RunCard(
        base_model=config.base,
        method=config.method,
        style=config.style,
        adapter=config.lora,
        data_fingerprint=fingerprint,
        config=config,
        steps=trainer.state.global_step,
        world_size=arguments.world_size,
        cases=training_set.cases,
        cases_truncated=training_set.truncated,
        cases_skipped=training_set.skipped,
        slots_dropped=training_set.slots_dropped,
        supervised_slots=training_set.supervised_slots,
        slots_seen=int(slots),
        tokens_seen=int(tokens),
        supervised_tokens_seen=int(supervised),
        behavior_token_ids={BEHAVIOR_TOKENS[b]: i for b, i in token_ids.items()} if token_ids else None,
        wall_seconds=0.0,
        resumed_from_step=checkpoint_step(resumed) if resumed is not None else 0,
        losses=losses,
        versions={package: version(package) for package in ("torch", "transformers", "peft", "accelerate")},
    )
    # Gathered on every process: under FSDP or ZeRO-3 each one holds only a shard of the weights.
    state_dict = trainer.accelerator.get_state_dict(trainer.model)
    if trainer.is_world_process_zero():
        save_weights(model, tokenizer, config, work, state_dict)
        plot_losses(losses, work / "loss.png", f"{config.method} on {config.base} ({card.steps} steps)")
        shutil.rmtree(work / "checkpoints", ignore_errors=True)
        card = card.model_copy(update={"wall_seconds": round(time.perf_counter() - started, 2)})
        write_model(work / RUN_CARD, card)
        write_model_card(work, card, name=out.name)
        if out.exists():  # empty (checked above): a directory rename needs it gone
            out.rmdir()
        os.replace(work, out)  # the finished folder appears whole, in one step
    trainer.accelerator.wait_for_everyone()
    return card


def _gpu_bf16() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def save_weights(model, tokenizer, config: TrainConfig, out: Path, state_dict: dict | None = None) -> None:
    """The adapter alone (its token rows included, not the whole resized embedding) or the full model.

    The adapter names its base as the absolute local folder it was trained from, so PEFT's
    `AutoPeftModelForCausalLM` loads it offline; `run_card.json` keeps the name the run was given
    (an alias such as 'smollm2-135m'), which BehaviorBench falls back on where that folder does not
    exist. `state_dict`, when given, holds the gathered full weights.
    """
    if config.lora:
        base = str(resolve_model_path(config.base).resolve())
        model.peft_config["default"].base_model_name_or_path = base
        model.save_pretrained(out, state_dict=state_dict, save_embedding_layers=False)
    else:
        model.save_pretrained(out, state_dict=state_dict)
    tokenizer.save_pretrained(out)
