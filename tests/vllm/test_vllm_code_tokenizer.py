"""The Elixir grammar through a real vLLM server whose model has a 100k code tokenizer (bench/code_bpe.py).

vLLM builds llguidance's matcher with the default limits (50,000 Earley items per mask step). A tiny
test tokenizer never reaches them; a real-sized code tokenizer does, and then vLLM logs
`LLMatcher error` and masks to end-of-sequence, so a "program" ends after a token or two with
finish_reason `stop`. The server tells the client nothing, so these tests catch it on their own: the
client must spot such samples, redo them without the server's grammar and stop sending it (the
loop parses and checks every candidate), and constrained samples must reach `min_tokens` and
parse, with no matcher error in the server's log (the grammar now fits the default limits:
bench/grammar_items.py).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elixir_coder_lsp.inference.backends.openai import OpenAIBackend
from elixir_coder_lsp.inference.types import GenerationRequest, GenerationResult, SamplingParams
from elixir_coder_lsp.settings import ModelSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from vllm_server import VllmServer, VllmUnavailable, start  # noqa: E402

pytestmark = pytest.mark.vllm

PROMPT = "defmodule Demo do\n  def run(x) do\n"
MIN_TOKENS = 24


def build_code_model(out: Path) -> Path:
    """A random tiny Llama whose tokenizer is the 100k code BPE (saved as a user's checkpoint would be)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from code_bpe import code_bpe

    tok = code_bpe(100_000)
    tok.pad_token = tok.eos_token
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=tok.eos_token_id, bos_token_id=None, pad_token_id=tok.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def code_server() -> Iterator[VllmServer]:
    work = Path(tempfile.mkdtemp(prefix="elixir-coder-vllm-code-"))
    try:
        server = start(build_code_model(work / "code-llama"), work, max_num_seqs=4)
    except VllmUnavailable as exc:
        shutil.rmtree(work, ignore_errors=True)
        if exc.machine:
            pytest.skip(str(exc))
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _backend(server: VllmServer, **extra: Any) -> OpenAIBackend:
    settings = ModelSettings(checkpoint=str(server.model_dir), backend="openai", url=server.url)
    return OpenAIBackend("vllm-code", settings, read_timeout_s=120.0, extra_body=extra or None)


def _request(backend: OpenAIBackend) -> GenerationResult:
    request = GenerationRequest(PROMPT, SamplingParams(n=4, temperature=1.0, seed=11, max_new_tokens=64), constrained=True,
                                entry_rule="expr_seq")
    return backend.submit(request).result(300)


def _generate(server: VllmServer, **extra: Any) -> GenerationResult:
    backend = _backend(server, **extra)
    try:
        return _request(backend)
    finally:
        backend.close()


def _matcher_errors(server: VllmServer) -> int:
    return server.log_path.read_text(errors="replace").count("LLMatcher error")


def test_a_failed_server_matcher_is_spotted_and_generation_goes_on_without_it(code_server: VllmServer) -> None:
    from elixir_coder_lsp.inference.constraints import check_text

    backend = _backend(code_server)
    try:
        before = _matcher_errors(code_server)
        first = _request(backend)
        failed_on_server = _matcher_errors(code_server) > before
        status = backend.status()
        after_first = _matcher_errors(code_server)
        second = _request(backend)
    finally:
        backend.close()
    for result in (first, second):
        assert result.error is None and all(c.finish_reason in ("stop", "length") for c in result.completions), result
    if failed_on_server:
        # spotted: the broken samples were redone without the grammar, and the next request never sent it
        assert "grammar engine failed" in status.message, status.message
        assert _matcher_errors(code_server) == after_first, code_server.log_tail()
        # no one-token "program" (what a failed matcher leaves) is passed on: a free random model rarely stops
        assert not any(c.finish_reason == "stop" and c.num_tokens <= 2 for c in first.completions + second.completions)
    else:
        for completion in first.completions:
            if completion.finish_reason == "stop":
                assert check_text(completion.text, "expr_seq").accepted, completion.text


def test_constrained_samples_reach_min_tokens_and_parse(code_server: VllmServer, helper: Any) -> None:
    before = _matcher_errors(code_server)
    result = _generate(code_server, min_tokens=MIN_TOKENS)
    assert _matcher_errors(code_server) == before, code_server.log_tail()
    for completion in result.completions:
        assert completion.num_tokens >= MIN_TOKENS, (completion.text, completion.finish_reason)
        if completion.finish_reason == "stop":
            assert helper.parse(completion.text).ok, completion.text
