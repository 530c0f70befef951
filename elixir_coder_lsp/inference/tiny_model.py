"""Builds tiny random Llama checkpoints (byte-level BPE trained on the project's Elixir samples) for tests and demos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
MARKER = ".tiny_model.json"
BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = [PAD, BOS, EOS, "<|user|>", "<|assistant|>"]

# A minimal chat template in the usual Jinja shape, so prompt building can be tested with and without one.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}<|user|>\n{{ message['content'] }}\n"
    "{% elif message['role'] == 'system' %}{{ message['content'] }}\n"
    "{% else %}<|assistant|>\n{{ message['content'] }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def sample_texts() -> list[str]:
    """The project's own Elixir samples (tokenizer training data and demo material)."""
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES_DIR.glob("*.ex"))]


def train_byte_bpe(texts: list[str], vocab_size: int, special_tokens: list[str]) -> Any:
    """A byte-level BPE (`tokenizers.Tokenizer`) trained on texts; the tests, demo and benchmarks all use it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def _train_tokenizer(vocab_size: int):
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = train_byte_bpe(sample_texts(), vocab_size, SPECIAL_TOKENS)
    bos_id = tok.token_to_id(BOS)
    # Llama-style: the BOS token starts every encoded text; special tokens themselves are never split.
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, model_max_length=4096)


def build_tiny_checkpoint(
    out_dir: str | Path,
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    seed: int = 0,
    chat_template: bool = False,
    max_position_embeddings: int = 4096,
) -> Path:
    """Write a random LlamaForCausalLM + trained byte-level BPE tokenizer to ``out_dir`` (cached by a marker file)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    out = Path(out_dir)
    spec = {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "seed": seed,
        "chat_template": chat_template,
        "max_position_embeddings": max_position_embeddings,
        "version": 1,
    }
    marker = out / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == spec:
                return out
        except (OSError, ValueError):
            pass
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = _train_tokenizer(vocab_size)
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        # A wider init than the default 0.02 gives a random model less flat logits (fewer near-ties).
        initializer_range=0.1,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.save_pretrained(out)
    marker.write_text(json.dumps(spec))
    return out
