"""The engine side of inline completion: a grammar prefix the matcher consumes first, and the interactive lane."""

from __future__ import annotations

import pytest

from elixir_coder_lsp.inference import constraints
from elixir_coder_lsp.inference.serving import Serving
from elixir_coder_lsp.inference.types import GenerationRequest, SamplingParams

PREFIX = "  def total(items) do\n    sum = "


@pytest.fixture(scope="module")
def serving(tiny_model_dir):
    return Serving.new(str(tiny_model_dir), str(tiny_model_dir), max_batch_size=4, batch_timeout_ms=0, num_threads=1)


def viable(text: str, rule: str) -> bool:
    """Whether the grammar accepts text as the start of something longer (every byte consumed)."""
    m = constraints._pristine_byte_matcher(rule, None)
    data = text.encode("utf-8")
    return m.try_consume_tokens(list(data)) == len(data) and not m.is_error()


def test_a_constraint_after_a_prefix_is_open_ended(mask_store) -> None:
    c = mask_store.constraint("module_body", prefix=PREFIX)
    assert c is not None and c.open_ended and c.can_stop()  # a fragment may stop anywhere
    assert c.text == PREFIX
    assert mask_store.constraint("module_body", prefix="  def f(x) do\n    x +}") is None  # rejected prefix
    plain = mask_store.constraint("module_body")
    assert not plain.open_ended
    assert plain.consume_prefix("") and plain.open_ended  # an empty prefix: open-ended from the start


def test_completions_after_a_grammar_prefix_continue_it_validly(serving) -> None:
    reqs = [
        GenerationRequest(
            prompt="defmodule Shop do\n" + PREFIX,
            params=SamplingParams(temperature=1.0, seed=i, max_new_tokens=24),
            constrained=True,
            entry_rule="module_body",
            grammar_prefix=PREFIX,
            interactive=True,
        )
        for i in range(4)
    ]
    for result in serving.engine().generate(reqs):
        text = result.completions[0].text
        assert result.completions[0].closed_tokens == 0  # never closed out: the suffix has the ending
        assert viable(PREFIX + text, "module_body"), text


def test_a_prefix_the_grammar_rejects_is_completed_unconstrained(serving) -> None:
    bad = "  def f(x) do\n    x +}"
    req = GenerationRequest(
        prompt=bad, params=SamplingParams(temperature=0, max_new_tokens=8), constrained=True, entry_rule="module_body", grammar_prefix=bad
    )
    (result,) = serving.engine().generate([req])
    assert result.completions[0].finish_reason in ("stop", "length") and result.completions[0].num_tokens > 0
