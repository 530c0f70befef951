"""The grammar under llguidance's default limits, as vLLM and SGLang build the matcher, on a 100k code BPE.

vLLM and SGLang create their `LLMatcher` with the default `ParserLimits` (50,000 Earley items per mask
step); a step over it puts the matcher into an error state and the server masks to EOS. A small test
tokenizer hides this: the items per step grow with the lexeme boundaries inside vocabulary tokens, so
this uses the ≥ 100k byte-level BPE trained on code from bench/code_bpe.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

llg = pytest.importorskip("llguidance")


@pytest.fixture(scope="session")
def code_tokenizer():
    from code_bpe import code_bpe

    return code_bpe(100_000)


@pytest.fixture(scope="session")
def corpus_sources() -> list[str]:
    from grammar_coverage import corpus_files, fetch_corpus

    files = corpus_files(fetch_corpus())
    return [f.read_text(encoding="utf-8") for f in files[:: len(files) // 6][:6]]


def _first_failing_step(tokenizer, grammar: str, source: str, n_tokens: int) -> int | None:
    import llguidance.hf
    import torch

    lt = llguidance.hf.from_tokenizer(tokenizer)
    words = (lt.vocab_size + 31) // 32
    buf = torch.empty(words, dtype=torch.int32)
    matcher = llg.LLMatcher(lt, grammar, log_level=0)  # default limits, exactly as vLLM builds it
    for i, t in enumerate(tokenizer(source, add_special_tokens=False).input_ids[:n_tokens]):
        matcher.unsafe_compute_mask_ptr(buf.data_ptr(), words * 4)
        if matcher.is_error():
            return i
        assert matcher.consume_token(t), f"token {i} rejected: {matcher.get_error()}"
    return None


def test_code_tokenizer_is_large_and_spans_lexemes(code_tokenizer) -> None:
    assert len(code_tokenizer) >= 100_000
    tokens = {code_tokenizer.decode([i]) for i in range(len(code_tokenizer))}
    # what makes a real tokenizer expensive for the grammar: tokens across several lexemes
    assert {"),", ".map", "\n\n"} <= tokens


def test_every_step_fits_default_limits(code_tokenizer, corpus_sources) -> None:
    from elixir_coder_lsp.inference.constraints import grammar_text

    grammar = grammar_text("start")
    failing = {i: _first_failing_step(code_tokenizer, grammar, src, 200) for i, src in enumerate(corpus_sources)}
    assert all(v is None for v in failing.values()), f"first over-limit step per file: {failing}"
