"""Roles: prompt templates (chat and plain) and per-role LoRA adapters switched per row without reloading."""

from __future__ import annotations

import pytest
import torch

from elixir_coder_lsp.inference.prompts import ROLES, build_prompt, load_tokenizer, render_context, role_template
from elixir_coder_lsp.inference.serving import Serving
from elixir_coder_lsp.inference.types import GenerationError, GenerationRequest, SamplingParams

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def lora_dir(tiny_model_dir, tmp_path_factory):
    """A tiny LoRA adapter with non-zero weights, created on the fly with peft."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    torch.manual_seed(0)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False))
    out = tmp_path_factory.mktemp("lora") / "question"
    model.save_pretrained(str(out))
    return out


def test_adapters_switch_per_row_in_one_batch(tiny_model_dir, lora_dir):
    params = SamplingParams(temperature=0, max_new_tokens=10)
    with_adapter = Serving.new(str(tiny_model_dir), adapters={"question": str(lora_dir)}, num_threads=1)
    base_model = with_adapter.model.get_base_model()
    mixed = with_adapter.engine().generate(
        [
            GenerationRequest(prompt="defmodule", params=params, role="generate"),
            GenerationRequest(prompt="defmodule", params=params, role="question"),
            GenerationRequest(prompt="x", params=params, role="explain"),
        ]
    )
    question_alone = with_adapter.engine().generate([GenerationRequest(prompt="defmodule", params=params, role="question")])[0]
    plain = Serving.new(str(tiny_model_dir), num_threads=1).engine().generate(
        [GenerationRequest(prompt="defmodule", params=params), GenerationRequest(prompt="x", params=params)]
    )
    # roles without an adapter run the base weights; the adapter role differs and is batch-independent
    assert mixed[0].completions[0].token_ids == plain[0].completions[0].token_ids
    assert mixed[2].completions[0].token_ids == plain[1].completions[0].token_ids
    assert mixed[1].completions[0].token_ids == question_alone.completions[0].token_ids
    assert mixed[1].completions[0].token_ids != plain[0].completions[0].token_ids
    # the base model was loaded once and is shared by every role
    assert with_adapter.model.get_base_model() is base_model


def test_missing_adapter_is_a_load_error(tiny_model_dir, tmp_path):
    with pytest.raises(GenerationError, match="Adapter for role 'explain' not found") as err:
        Serving.new(str(tiny_model_dir), adapters={"explain": str(tmp_path / "nope")}, num_threads=1)
    assert err.value.kind == "unavailable"


def test_plain_and_chat_prompts(tiny_model_dir, tiny_chat_model_dir):
    plain_tok = load_tokenizer(str(tiny_model_dir))
    chat_tok = load_tokenizer(str(tiny_chat_model_dir))
    context = {"module": "MyApp.Math", "aliases": ["MyApp.Repo"], "function_heads": ["def sub(a, b)"]}
    plain = build_prompt(plain_tok, "generate", "add two numbers", context)
    assert plain.startswith("# ") and "MyApp.Math" in plain and plain.endswith("# Elixir code:\n")
    chat = build_prompt(chat_tok, "generate", "add two numbers", context, prefix="defmodule")
    assert "<|user|>" in chat and chat.endswith("<|assistant|>\ndefmodule")
    assert not chat.startswith(chat_tok.bos_token), "BOS is added once, by the worker's tokenizer call"
    for role in ROLES:
        assert "add two numbers" in build_prompt(None, role, "add two numbers")


def test_template_override_and_context_rendering():
    assert role_template("explain", "Explain: {request}") == "Explain: {request}"
    assert role_template("explain", "  ") != "  "
    text = build_prompt(None, "repair", "fix it", "defmodule A do end", template="{context}>> {request} {unknown}")
    assert ">> fix it {unknown}" in text and "defmodule A do end" in text
    assert render_context(None) == "" and render_context({"module": ""}) == ""
    with pytest.raises(ValueError):
        role_template("nonsense")


def test_requests_with_context_get_the_role_prompt(tiny_chat_model_dir):
    from elixir_coder_lsp.inference.serving import Serving

    serving = Serving.new(str(tiny_chat_model_dir), templates={"explain": "EXPLAIN {request} IN {context}"}, num_threads=1)
    engine = serving.engine()
    chat = GenerationRequest(prompt="add two numbers", role="generate", context={"module": "MyApp.Math"})
    text = engine.prompt_text(chat)
    assert text == build_prompt(serving.tokenizer, "generate", "add two numbers", {"module": "MyApp.Math"})
    assert "<|assistant|>" in text
    assert "EXPLAIN why IN" in engine.prompt_text(GenerationRequest(prompt="why", role="explain", context={}))
    assert engine.prompt_text(GenerationRequest(prompt="raw text")) == "raw text"
    assert engine.generate([chat])[0].completions
