"""Tiny random causal LMs with an in-process BPE tokenizer: real transformers models for fast tests.

They share SmolLM2's chat format (ChatML with <|im_start|>/<|im_end|>) and tied embeddings, so
every code path that runs on SmolLM2 runs on them in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)

_CORPUS = (
    "The attending asks the resident about the patient's potassium, creatinine and sodium. "
    "The nurse reports the heart rate, blood pressure, temperature and oxygen saturation. "
    "The pharmacist checks the enoxaparin dose per kg and the renal function before metformin. "
    "Assistant, what is the most likely diagnosis? Start ceftriaxone IV. Hold the warfarin. "
    "[REACTIVE] [PROACTIVE] [SILENT] No comment. mg mcg kg mL units mmol/L mg/dL | --- | "
    "0 1 2 3 4 5 6 7 8 9 allergy penicillin interaction QTc ECG rhythm atrial fibrillation "
)


def make_tiny_model(directory: Path, seed: int = 0, vocab_size: int = 384, layers: int = 2) -> Path:
    """Write a randomly initialised Llama-architecture model and its tokenizer to `directory`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
