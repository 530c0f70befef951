"""The tiny checkpoint builder: trained byte-level BPE on the project's samples + random Llama, cached."""

from __future__ import annotations

import os

from elixir_coder_lsp.inference.tiny_model import build_tiny_checkpoint, sample_texts


def test_samples_exist():
    texts = sample_texts()
    assert len(texts) >= 8 and all("defmodule" in t for t in texts)


def test_tokenizer_round_trips_elixir_and_model_config(tiny_model_dir):
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)
    for text in sample_texts()[:3] + ["héllo → 🌍 <> ~r/x/u"]:
        ids = tok(text).input_ids
        assert ids[0] == tok.bos_token_id
        assert tok.decode(ids, skip_special_tokens=True) == text
    cfg = AutoConfig.from_pretrained(str(tiny_model_dir), local_files_only=True)
    assert cfg.model_type == "llama" and cfg.hidden_size == 64 and cfg.num_attention_heads == 2
    assert cfg.hidden_size // cfg.num_attention_heads == 32  # a head size vLLM's CPU attention supports
    assert cfg.vocab_size == len(tok) and tok.eos_token_id is not None and tok.pad_token_id is not None


def test_builder_is_cached(tiny_model_dir):
    weights = tiny_model_dir / "model.safetensors"
    before = os.stat(weights).st_mtime_ns
    assert build_tiny_checkpoint(tiny_model_dir) == tiny_model_dir
    assert os.stat(weights).st_mtime_ns == before
