"""FIM prompt assembly: each family's special tokens are detected from the vocabulary; a model without them gets the prefix."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from elixir_coder_lsp.inference.fim import bound_by_tokens, detect_fim, fim_prompt


@pytest.fixture()
def tiny_tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)


def test_a_tokenizer_without_fim_tokens_gets_a_prefix_only_prompt(tiny_tokenizer) -> None:
    assert detect_fim(tiny_tokenizer) is None
    assert detect_fim(None) is None
    assert fim_prompt(detect_fim(tiny_tokenizer), "def f(x) do\n  ", "\nend\n") == "def f(x) do\n  "


@pytest.mark.parametrize(
    ("tokens", "family", "expected"),
    [
        (["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"], "qwen/starcoder2", "<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>"),
        (["<fim_prefix>", "<fim_suffix>", "<fim_middle>"], "starcoder", "<fim_prefix>P<fim_suffix>S<fim_middle>"),
        (["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"], "deepseek", "<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>"),
        (["<PRE>", "<SUF>", "<MID>"], "codellama", "<PRE> P <SUF> S <MID>"),
    ],
)
def test_fim_tokens_of_each_family_shape_the_prompt(tiny_model_dir, tokens, family, expected) -> None:
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)
    tok.add_special_tokens({"additional_special_tokens": tokens})
    fim = detect_fim(tok)
    assert fim is not None and fim.family == family
    prompt = fim_prompt(fim, "P", "S")
    assert prompt == expected
    # the special tokens stay single tokens when the engine encodes the prompt
    ids = tok(prompt, add_special_tokens=False).input_ids
    assert all(tok.convert_tokens_to_ids(t) in ids for t in tokens)


def test_one_fim_token_missing_means_no_fim(tiny_model_dir) -> None:
    tok = AutoTokenizer.from_pretrained(str(tiny_model_dir), local_files_only=True)
    tok.add_special_tokens({"additional_special_tokens": ["<|fim_prefix|>", "<|fim_suffix|>"]})
    assert detect_fim(tok) is None


def test_prefix_and_suffix_are_bounded_at_whole_lines(tiny_tokenizer) -> None:
    prefix = "".join(f"  x{i} = {i}\n" for i in range(200)) + "  y = "
    suffix = "\n" + "".join(f"  z{i} = {i}\n" for i in range(200))
    p, s = bound_by_tokens(prefix, suffix, tiny_tokenizer, 64, 32)
    assert prefix.endswith(p) and p.endswith("  y = ") and len(p) < len(prefix)
    assert p.startswith("  x")  # a whole line, never a cut one
    assert suffix.startswith(s) and len(s) < len(suffix) and s.split("\n")[-1].startswith("  z")
    assert len(tiny_tokenizer(p, add_special_tokens=False).input_ids) <= 64
    assert bound_by_tokens("a = 1\n", "\nb", tiny_tokenizer, 64, 32) == ("a = 1\n", "\nb")
